#!/usr/bin/env bash
# Clone this repository's HEAD into a fresh folder, run the README's first command
# (make run) there, fetch the login page, and stop everything again.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# A port nobody listens on, so the page we fetch can only come from this clone.
port=${SMOKE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "port $port is already in use" >&2; exit 1; fi
work=$(mktemp -d)
# supervisord stops its programs (each in a process group of its own) on SIGTERM: give it
# time to do so before anything left in the group is killed.
stop() {
  kill -- -"$pid" 2>/dev/null || true
  for _ in $(seq 1 90); do kill -0 -- -"$pid" 2>/dev/null || break; sleep 1; done
  kill -9 -- -"$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

git clone --quiet "$repo" "$work/argus"
cd "$work/argus"
started=$(date +%s)
# Own process group, so make and supervisord (which stops web, workers and beat) can be stopped.
setsid make run PORT="$port" >"$work/run.log" 2>&1 &
pid=$!

for _ in $(seq 1 600); do
  if page=$(curl -fsS "http://127.0.0.1:$port/accounts/login/" 2>/dev/null); then
    if grep -q "Sign in" <<<"$page"; then
      echo "fresh clone: 'make run' served the login page after $(( $(date +%s) - started ))s"
      grep -E "Demo logins|demo-" "$work/run.log" | head -6 || true
      # The demo analyst's embedding job must run through the workers of this clone.
      if python3 - "$port" <<'PY'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
def call(path, body=None, token=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Token {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)
token = call("/api/auth/token/", {"username": "demo-analyst", "password": "argus-demo-2026"})["token"]
job = call("/api/embeddings/", {"texts": ["Revenue grew 12%.", "The issuer defaulted on its notes."]}, token)
deadline = time.time() + 300
while job["status"] not in ("succeeded", "failed") and time.time() < deadline:
    time.sleep(1)
    job = call(job["status_url"], token=token)
print(f"fresh clone: embedding job {job['status']} at {job['progress']}%")
sys.exit(0 if job["status"] == "succeeded" and job["result"]["dimensions"] == 384 else 1)
PY
      then exit 0; fi
      echo "fresh clone: the embedding job did not succeed; make run output:" >&2
      tail -80 "$work/run.log" >&2
      exit 1
    fi
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 1
done
echo "fresh clone: the login page was not served; make run output:" >&2
tail -80 "$work/run.log" >&2
exit 1
