#!/usr/bin/env bash
# Media-only diagnostic: the bundled LiveKit test server (unless LIVEKIT_URL is set), the agent
# in echo mode, and a real LiveKit client (the Python SDK) that speaks a 440 Hz tone and must
# hear it back. No AI, no backend.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet --workspace --bins

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ -z "${LIVEKIT_URL:-}" ]; then
  port=$(free_port)
  target/debug/livekit-test-server --port "$port" --keys devkey:secret >/dev/null 2>&1 &
  pids+=($!)
  export LIVEKIT_URL="ws://127.0.0.1:$port" LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret
  for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
fi
room="echo-$RANDOM"
out=$(mktemp -d)
token=$(target/debug/interview-agent token --room "$room" --identity candidate | sed -n 's/^TOKEN=//p')
echo "== LiveKit at $LIVEKIT_URL, room $room"
target/debug/interview-agent connect --room "$room" --identity interview-agent --echo --duration-secs 20 &
pids+=($!)
echo "== candidate (LiveKit Python SDK) speaks a 440 Hz tone for 6 s and listens"
.venv/bin/python tests/peers/lk_peer.py --url "$LIVEKIT_URL" --token "$token" \
  --publish-tone 440 --tone-seconds 6 --listen-seconds 8 --out "$out/report.json" >/dev/null 2>"$out/peer.log" \
  || { cat "$out/peer.log"; exit 1; }
.venv/bin/python - "$out/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
agent = [t for t in r["tracks"] if t["participant"] == "interview-agent"]
if not agent:
    sys.exit("the candidate heard nothing from the agent")
t = max(agent, key=lambda t: t["seconds_above_-40dbfs"])
print(f"== candidate heard its tone back: {t['dominant_hz']:.1f} Hz, {t['seconds_above_-40dbfs']:.1f} s")
sys.exit(0 if abs(t["dominant_hz"] - 440) <= 5 else 1)
PY
