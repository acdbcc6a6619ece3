#!/usr/bin/env bash
# Clone this repository's HEAD into a fresh folder, run the README's first command
# (make run) there, fetch the login page, and stop everything again.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# A port nobody listens on, so the page we fetch can only come from this clone.
port=${SMOKE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is already in use" >&2; exit 1; fi
work=$(mktemp -d)
trap 'kill -- -$pid 2>/dev/null || true; sleep 2; kill -9 -- -$pid 2>/dev/null || true; rm -rf "$work"' EXIT

git clone --quiet "$repo" "$work/argus"
cd "$work/argus"
started=$(date +%s)
# Own process group, so the whole tree (honcho, web, workers, beat) can be stopped.
setsid make run PORT="$port" >"$work/run.log" 2>&1 &
pid=$!

for _ in $(seq 1 600); do
  if page=$(curl -fsS "http://127.0.0.1:$port/accounts/login/" 2>/dev/null); then
    if grep -q "Sign in" <<<"$page"; then
      echo "fresh clone: 'make run' served the login page after $(( $(date +%s) - started ))s"
      grep -E "Demo logins|demo-" "$work/run.log" | head -6 || true
      exit 0
    fi
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 1
done
echo "fresh clone: the login page was not served; make run output:" >&2
tail -80 "$work/run.log" >&2
exit 1
