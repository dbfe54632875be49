#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on 127.0.0.1, run with
# the machine's Java 17 from jars that Maven fetches once into an ignored cache (pom.xml pins the
# version). Usage:
#   deploy/kafka/kafka.sh fetch              fetch the jars (done by start when missing)
#   deploy/kafka/kafka.sh start [DIR PORT]   format DIR once, start the broker, wait until it listens
#   deploy/kafka/kafka.sh stop [DIR]         stop it (SIGTERM, then SIGKILL after 30 s)
#   deploy/kafka/kafka.sh status [DIR]
#   deploy/kafka/kafka.sh kill [DIR]         SIGKILL (fault tests)
# DIR defaults to .cache/kafka/broker and PORT to 9092 (the controller listens on PORT+1).
# The broker prints KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT when it is ready.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")
CACHE=${HALLMARK_KAFKA_CACHE:-$ROOT/.cache/kafka}
LIBS=$CACHE/libs-$VERSION
DIR=${2:-$CACHE/broker}
PORT=${3:-${HALLMARK_KAFKA_PORT:-9092}}
HEAP=${HALLMARK_KAFKA_HEAP:-512m}

fetch() {
  if [ -f "$LIBS/.complete" ]; then return; fi
  command -v mvn >/dev/null || { echo "kafka: needs Maven (mvn) to fetch the broker jars; apt-get install maven" >&2; exit 1; }
  command -v java >/dev/null || { echo "kafka: needs Java 17 (java) to run the broker; apt-get install openjdk-17-jre-headless" >&2; exit 1; }
  echo "kafka: fetching Apache Kafka $VERSION jars from Maven Central into $LIBS (once)" >&2
  rm -rf "$LIBS"
  mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIBS" >&2
  touch "$LIBS/.complete"
}

listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pid_of() {
  if [ -f "$DIR/broker.pid" ] && kill -0 "$(cat "$DIR/broker.pid")" 2>/dev/null; then cat "$DIR/broker.pid"; fi
}

configure() {
  mkdir -p "$DIR/logs"
  cat > "$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$((PORT + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
controller.quorum.bootstrap.servers=127.0.0.1:$((PORT + 1))
log.dirs=$DIR/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.flush.interval.messages=1
PROPS
  cat > "$DIR/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$DIR/logs/broker.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
PROPS
  cat > "$DIR/log4j2.properties" <<PROPS
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = $DIR/logs/tools.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
PROPS
}

java_run() {
  java -Xmx"$HEAP" -Xms128m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$DIR/log4j.properties" -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$LIBS/*" "$@"
}

start() {
  fetch
  if [ -n "$(pid_of)" ]; then
    echo "kafka: already running (pid $(pid_of)) on 127.0.0.1:$PORT" >&2
    echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$PORT"
    return
  fi
  if listening "$PORT"; then
    echo "kafka: 127.0.0.1:$PORT is taken by another process; pass another port (kafka.sh start DIR PORT)" >&2
    exit 1
  fi
  configure
  if [ ! -f "$DIR/data/meta.properties" ]; then
    local id
    id=$(java_run kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java_run kafka.tools.StorageTool format -t "$id" -c "$DIR/server.properties" --standalone >"$DIR/logs/format.log" 2>&1 || {
      echo "kafka: formatting $DIR/data failed; see $DIR/logs/format.log" >&2; exit 1; }
  fi
  nohup java -Xmx"$HEAP" -Xms128m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$DIR/log4j.properties" -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$LIBS/*" \
    kafka.Kafka "$DIR/server.properties" >"$DIR/logs/stdout.log" 2>&1 &
  echo $! >"$DIR/broker.pid"
  for _ in $(seq 1 120); do
    if listening "$PORT"; then
      echo "kafka: Apache Kafka $VERSION listening on 127.0.0.1:$PORT (pid $(cat "$DIR/broker.pid"), data $DIR/data)" >&2
      echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$PORT"
      return
    fi
    if ! kill -0 "$(cat "$DIR/broker.pid")" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "kafka: the broker did not start; see $DIR/logs/stdout.log and $DIR/logs/broker.log" >&2
  tail -20 "$DIR/logs/stdout.log" >&2 || true
  exit 1
}

stop() {
  local pid
  pid=$(pid_of)
  if [ -z "$pid" ]; then echo "kafka: not running ($DIR)" >&2; return; fi
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$DIR/broker.pid"; echo "kafka: stopped" >&2; return; }
    sleep 0.5
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/broker.pid"
  echo "kafka: killed after 30 s" >&2
}

case "${1:-start}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  kill) pid=$(pid_of); [ -n "$pid" ] && kill -KILL "$pid"; rm -f "$DIR/broker.pid" ;;
  status)
    if [ -n "$(pid_of)" ]; then echo "kafka: running (pid $(pid_of)), data $DIR"; else echo "kafka: not running"; exit 3; fi ;;
  *) echo "usage: $0 fetch|start|stop|status|kill [DIR [PORT]]" >&2; exit 2 ;;
esac
