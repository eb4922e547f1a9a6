#!/usr/bin/env bash
# Fuzzes a running hutch through its own OpenAPI description (/api/openapi.json) with
# schemathesis: every operation, generated bodies and path parameters, and stateful sequences.
# Fails on any 5xx reply, on a panic in the server log, or if the server is down afterwards.
#
#   end2end/fuzz/schemathesis.sh [extra schemathesis flags]
#
# Env: HUTCH_BIN (default target/debug/hutch), ST (the schemathesis program, default
# target/venv-fuzz/bin/schemathesis), SEED (default 1; a fixed seed repeats the same run),
# EXAMPLES (per operation, default 20). For a longer hunt: SEED=$RANDOM EXAMPLES=500.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${HUTCH_BIN:-$ROOT/target/debug/hutch}
ST=${ST:-$ROOT/target/venv-fuzz/bin/schemathesis}
KEY=fuzz-key-0123456789
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA=$(mktemp -d /tmp/hutch-fuzz-XXXXXX)
LOG=$DATA/server.log
HUTCH_CONFIG=/dev/null HUTCH_API_KEY=$KEY NO_COLOR=1 RUST_LOG=info \
  "$BIN" serve --bind "127.0.0.1:$PORT" --data-dir "$DATA/data" >"$LOG" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
trap cleanup EXIT
URL=http://127.0.0.1:$PORT
for _ in $(seq 200); do
  curl -sf -o /dev/null "$URL/api/openapi.json" && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG"; echo "hutch did not start" >&2; exit 1; }
  sleep 0.1
done
# manager/stop would end the run early, and WebSockets are not HTTP operations to fuzz.
"$ST" run "$URL/api/openapi.json" \
  --checks "${CHECKS:-not_a_server_error,response_schema_conformance}" \
  -H "Authorization: ApiKey $KEY" \
  --exclude-path-regex '(/ws$|^/api/stream$|/manager/stop$)' \
  --max-examples "${EXAMPLES:-20}" --seed "${SEED:-1}" --workers 2 \
  --request-timeout 70 --no-color "$@"
if ! curl -sf -o /dev/null -H "Authorization: ApiKey $KEY" "$URL/api/status"; then
  tail -50 "$LOG"; echo "hutch is not answering after the fuzz run" >&2; exit 1
fi
if grep -nE 'panicked|status=5[0-9][0-9]' "$LOG"; then
  echo "the server log shows a panic or a 5xx (above; whole log in $LOG)" >&2; exit 1
fi
echo "schemathesis: no 5xx, no panic; the server is up"
rm -rf "$DATA"
