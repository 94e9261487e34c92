#!/usr/bin/env bash
# The main job on a fresh machine, on embedded defaults: a LiveKit server (the bundled test
# server, unless LIVEKIT_URL is set), an AI stack (the offline local one, unless OPENAI_API_KEY
# is set), the voice agent joining a room, and a real LiveKit client (the official Python SDK)
# as the candidate, speaking a recorded answer. Prints both sides of the conversation.
# `scripts/demo.sh echo` runs the media-only diagnostic instead (no AI needed).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-voice}"
scripts/setup.sh
[ "$mode" = echo ] || [ -n "${OPENAI_API_KEY:-}" ] || scripts/setup-ai.sh
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
room="demo-$RANDOM"
out=$(mktemp -d)
token=$(target/debug/interview-agent token --room "$room" --identity candidate | sed -n 's/^TOKEN=//p')
echo "== LiveKit at $LIVEKIT_URL, room $room"

if [ "$mode" = echo ]; then
  target/debug/interview-agent connect --room "$room" --identity interview-agent --echo --duration-secs 20 &
  pids+=($!)
  echo "== candidate (LiveKit Python SDK) speaks a 440 Hz tone for 6 s and listens"
  .venv/bin/python tests/peers/lk_peer.py --url "$LIVEKIT_URL" --token "$token" \
    --publish-tone 440 --tone-seconds 6 --listen-seconds 8 --out "$out/report.json" >/dev/null 2>"$out/peer.log" \
    || { cat "$out/peer.log"; exit 1; }
else
  if [ -z "${OPENAI_API_KEY:-}" ]; then
    .venv-ai/bin/python scripts/local_ai/server.py --host 127.0.0.1 --port 0 >"$out/ai.out" 2>"$out/ai.log" &
    pids+=($!)
    echo "== starting the local AI stack (Whisper tiny.en, SmolLM2-135M, Piper) ..."
    for _ in $(seq 600); do grep -q READY "$out/ai.out" 2>/dev/null && break; sleep 0.2; done
    ai=$(sed -n 's/^READY //p' "$out/ai.out")
    [ -n "$ai" ] || { cat "$out/ai.log"; echo "local AI stack did not start"; exit 1; }
    export OPENAI_BASE_URL="$ai/v1"
    speech_url="$ai"
  fi
  answer="I have five years of experience with Rust and distributed systems."
  if [ -n "${speech_url:-}" ]; then
    python3 scripts/local_ai/make_speech.py --url "$speech_url" --text "$answer" --rate 48000 --out "$out/answer.wav"
  else
    curl -sf "${OPENAI_BASE_URL:-https://api.openai.com/v1}/audio/speech" -H "Authorization: Bearer $OPENAI_API_KEY" \
      -H 'Content-Type: application/json' -d "{\"model\":\"tts-1\",\"voice\":\"echo\",\"input\":\"$answer\",\"response_format\":\"wav\"}" \
      -o "$out/answer.wav"
  fi
  target/debug/interview-agent connect --room "$room" --identity interview-agent --duration-secs 60 2>"$out/agent.log" &
  pids+=($!)
  echo "== candidate (LiveKit Python SDK) joins and answers: \"$answer\""
  .venv/bin/python tests/peers/lk_peer.py --url "$LIVEKIT_URL" --token "$token" \
    --publish-wav "$out/answer.wav" --wav-delay 12 --listen-seconds 40 --out "$out/report.json" >/dev/null 2>"$out/peer.log" \
    || { cat "$out/peer.log"; exit 1; }
fi

.venv/bin/python - "$out/report.json" "$mode" <<'PY'
import json, sys
r, mode = json.load(open(sys.argv[1])), sys.argv[2]
agent = [t for t in r["tracks"] if t["participant"] == "interview-agent"]
if not agent:
    sys.exit("the candidate heard nothing from the agent")
t = max(agent, key=lambda t: t["seconds_above_-40dbfs"])
if mode == "echo":
    print(f"== candidate heard its tone back: {t['dominant_hz']:.1f} Hz, {t['seconds_above_-40dbfs']:.1f} s")
    sys.exit(0 if abs(t["dominant_hz"] - 440) <= 5 else 1)
print("== conversation (lk.transcription text streams, as a LiveKit front end shows them):")
for s in r["text_streams"]:
    a = s["attributes"]
    if s["topic"] == "lk.transcription" and a.get("lk.transcription_final") == "true":
        who = "candidate" if a.get("lk.segment_id", "").startswith("user-") else "agent    "
        print(f"   {who}: {s['text']}")
states = []
for c in r["attribute_changes"]:
    s = c["attributes"].get("lk.agent.state")
    if c["participant"] == "interview-agent" and s and (not states or states[-1] != s):
        states.append(s)
print("== lk.agent.state:", " -> ".join(states))
print(f"== the candidate heard {t['seconds_above_-40dbfs']:.1f} s of agent speech")
PY
grep -E "turn metrics" "$out/agent.log" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | sed 's/.*turn metrics/== turn metrics:/' || true
