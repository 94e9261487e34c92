#!/usr/bin/env bash
# The main job on a fresh machine, on embedded defaults: start the LiveKit test server (a test
# fixture standing in for livekit-server), join a room with `interview-agent connect --echo`,
# and have a real LiveKit client (the official Python SDK) speak a 440 Hz tone into the room
# and report what it hears back from the agent.
# With LIVEKIT_URL/LIVEKIT_API_KEY/LIVEKIT_API_SECRET set, it uses that server instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet --workspace --bins

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

if [ -z "${LIVEKIT_URL:-}" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  target/debug/livekit-test-server --port "$port" --keys devkey:secret &
  pids+=($!)
  export LIVEKIT_URL="ws://127.0.0.1:$port" LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret
  for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
fi
room="demo-$RANDOM"
echo "== LiveKit at $LIVEKIT_URL, room $room"
target/debug/interview-agent connect --room "$room" --identity interview-agent --echo --duration-secs 20 &
pids+=($!)

token=$(target/debug/interview-agent token --room "$room" --identity candidate | sed -n 's/^TOKEN=//p')
out=$(mktemp)
echo "== candidate (LiveKit Python SDK) speaks a 440 Hz tone for 6 s and listens"
.venv/bin/python tests/peers/lk_peer.py --url "$LIVEKIT_URL" --token "$token" \
  --publish-tone 440 --tone-seconds 6 --listen-seconds 8 --out "$out" >/dev/null 2>"$out.log" \
  || { cat "$out.log"; exit 1; }
.venv/bin/python - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
agent = [t for t in r["tracks"] if t["participant"] == "interview-agent"]
if not agent:
    sys.exit("the candidate heard nothing from the agent")
t = agent[0]
print(f"== candidate heard the agent: {t['dominant_hz']:.1f} Hz at {t['rms_dbfs']:.1f} dBFS, "
      f"{t['seconds_above_-40dbfs']:.1f} s of audio, first frame {t['first_frame_s']:.2f} s after connecting")
print("== agent attributes seen by the candidate:", r["remote_participants"].get("interview-agent", {}).get("attributes"))
ok = abs(t["dominant_hz"] - 440) <= 5
print("== echo path OK" if ok else "== echo path BROKEN")
sys.exit(0 if ok else 1)
PY
