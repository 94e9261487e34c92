#!/usr/bin/env bash
# Measures `interview-agent connect --echo` in one room with a real LiveKit client (Python SDK)
# speaking: the agent's CPU share and RSS over a 20 s window. Uses target/${PROFILE:-release}.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${PROFILE:-release}"
flag=$([ "$profile" = release ] && echo --release || true)
scripts/setup.sh >/dev/null
cargo build --quiet $flag --workspace --bins
bin="target/$profile"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin/livekit-test-server" --port "$port" --keys devkey:secret >/dev/null 2>&1 &
srv=$!
trap 'kill $srv $agent 2>/dev/null || true' EXIT
sleep 0.5
export LIVEKIT_URL="ws://127.0.0.1:$port" LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret
"$bin/interview-agent" connect --room measure --echo --duration-secs 45 >/dev/null 2>&1 &
agent=$!
token=$("$bin/interview-agent" token --room measure --identity caller | sed -n 's/^TOKEN=//p')
.venv/bin/python tests/peers/lk_peer.py --url "$LIVEKIT_URL" --token "$token" --publish-tone 440 \
  --listen-seconds 40 --out /tmp/measure_peer.json >/dev/null 2>&1 &
peer=$!
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$agent/stat"; }
rss() { awk '/VmRSS/{print $2}' "/proc/$agent/status"; }
sleep 10; c0=$(cpu); t0=$(date +%s.%N)
sleep 20; c1=$(cpu); t1=$(date +%s.%N); r=$(rss)
wait $peer || true
python3 - "$c0" "$c1" "$t0" "$t1" "$ticks" "$r" "$profile" <<'PY'
import sys
c0, c1, t0, t1, hz, rss, prof = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
print(f"agent ({prof}) in one room, echoing one speaker: CPU {100*(c1-c0)/hz/(t1-t0):.1f}% of one core, RSS {rss/1024:.1f} MiB")
PY
