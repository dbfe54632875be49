#!/usr/bin/env bash
# Install, where missing, the Debian packages the test suite drives: faketime (the late-evening
# run that pins the body's calendar against the machine's UTC date) and chromium (pages tested in a
# real headless browser). Usage: deploy/test-tools.sh
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
command -v faketime >/dev/null || missing+=(faketime)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-tools: installing ${missing[*]} (Debian packages)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "test-tools: faketime and chromium present" >&2
