#!/usr/bin/env bash
# Capacity benchmark: one agent worker (`interview-agent start --session voice`), fake
# OpenAI-compatible providers with set latencies (examples/fake_providers.rs) and N simulated
# candidates (examples/loadgen), for N in BENCH_SIZES. Prints, per N: the worker's CPU (% of
# one core) and peak PSS, voice-to-voice p50/p90 on the candidates' side, missed turns, failed
# sessions, refused jobs, join time p50/p90/max, and the SFU's and the load generator's CPU.
#
#   scripts/bench_capacity.sh                     # the bundled test server (a test fixture)
#   LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
#     scripts/bench_capacity.sh                   # a real livekit-server
#
# Env: BENCH_SIZES ("1 10 25 50 100"), BENCH_TURNS (3 answers per candidate), BENCH_WAV (a
# spoken 16-bit WAV for the candidates; default a synthetic voice), BENCH_TTS_WAV (a spoken WAV
# the fake TTS says; default a tone, which Opus encodes far more cheaply than speech: set both
# for CPU figures that hold in production), BENCH_STT_MS (300), BENCH_LLM_TTFT_MS (300),
# BENCH_LLM_TOKEN_MS (25), BENCH_TTS_TTFB_MS (200). A benchmark, not a test: numbers depend
# on the machine; nothing here fails on a slow one.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="${BENCH_SIZES:-1 10 25 50 100}"
TURNS="${BENCH_TURNS:-3}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
pss_kb() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

echo "building (release)..." >&2
cargo build --release --locked -q -p interview-agent --bin interview-agent --example fake_providers --example loadgen
[ -z "${LIVEKIT_URL:-}" ] && cargo build --release --locked -q -p livekit-test-server
bin=target/release

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Print the URL a child announces on its first line ("listening on URL").
announced() {
  local log=$1
  for _ in $(seq 100); do
    if grep -q "^listening on" "$log" 2>/dev/null; then sed -n 's/^listening on //p' "$log" | head -1; return; fi
    sleep 0.1
  done
  echo "no 'listening on' in $log:" >&2; cat "$log" >&2; exit 1
}

server_pid=""
if [ -z "${LIVEKIT_URL:-}" ]; then
  "$bin/livekit-test-server" --port "$(free_port)" >"$work/server.log" 2>&1 &
  server_pid=$!; pids+=("$server_pid")
  export LIVEKIT_URL; LIVEKIT_URL=$(announced "$work/server.log")
  export LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret
  server_name="test server (fixture)"
else
  server_name="$LIVEKIT_URL"
fi

"$bin/examples/fake_providers" --port 0 --stt-ms "${BENCH_STT_MS:-300}" \
  --llm-ttft-ms "${BENCH_LLM_TTFT_MS:-300}" --llm-token-ms "${BENCH_LLM_TOKEN_MS:-25}" \
  --tts-ttfb-ms "${BENCH_TTS_TTFB_MS:-200}" ${BENCH_TTS_WAV:+--tts-wav "$BENCH_TTS_WAV"} >"$work/providers.log" 2>&1 &
pids+=($!)
providers=$(announced "$work/providers.log")

# Production settings, except: no job limit (the load figure alone may refuse) and sessions
# end 2 s after their candidate leaves (so one size's sessions are gone before the next).
sed -e 's/^rejoin_grace_secs = .*/rejoin_grace_secs = 2/' agent.toml >"$work/agent.toml"
health=$(free_port)
agent_name="bench-$$"
OPENAI_BASE_URL="$providers" OPENAI_API_KEY=fake LIVEKIT_AGENT_NAME="$agent_name" \
  "$bin/interview-agent" start --config "$work/agent.toml" --session voice --max-jobs 0 \
  --health-port "$health" --log-level warn >"$work/worker.log" 2>&1 &
worker=$!; pids+=("$worker")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$health/" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$health/" >/dev/null || { echo "the worker did not register:" >&2; cat "$work/worker.log" >&2; exit 1; }
sleep 1
idle_pss=$(pss_kb "$worker")
refused() { curl -s "http://127.0.0.1:$health/metrics" | awk '/^interview_agent_jobs_refused_total /{print $2}'; }
active() { curl -s "http://127.0.0.1:$health/worker" | python3 -c 'import json,sys; print(json.load(sys.stdin)["active_jobs"])'; }

echo "server: $server_name; providers: STT ${BENCH_STT_MS:-300} ms, LLM first token ${BENCH_LLM_TTFT_MS:-300} ms + ${BENCH_LLM_TOKEN_MS:-25} ms/token, TTS first byte ${BENCH_TTS_TTFB_MS:-200} ms; $TURNS answers per candidate; candidates: ${BENCH_WAV:-synthetic voice}; agent voice: ${BENCH_TTS_WAV:-tone}; $(nproc) cores"
echo "idle worker: PSS $((idle_pss / 1024)) MB"
echo
echo "| N | worker CPU (% of a core) | per session | worker PSS peak (MB) | v2v p50 / p90 (ms) | missed turns | failed | refused | join p50 / p90 / max (ms) | SFU CPU | loadgen CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for n in $SIZES; do
  r0=$(refused); w0=$(ticks "$worker"); s0=0; [ -n "$server_pid" ] && s0=$(ticks "$server_pid"); t0=$(date +%s.%N)
  ( peak=0; while kill -0 "$worker" 2>/dev/null; do p=$(pss_kb "$worker"); [ "$p" -gt "$peak" ] && peak=$p && echo "$peak" >"$work/peak"; sleep 0.5; done ) &
  sampler=$!
  wav=(); [ -n "${BENCH_WAV:-}" ] && wav=(--wav "$BENCH_WAV")
  "$bin/examples/loadgen" --n "$n" --turns "$TURNS" --agent-name "$agent_name" "${wav[@]}" >"$work/loadgen-$n.log" 2>&1 || true
  t1=$(date +%s.%N); w1=$(ticks "$worker"); s1=0; [ -n "$server_pid" ] && s1=$(ticks "$server_pid")
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
  peak=$(cat "$work/peak" 2>/dev/null || echo 0); rm -f "$work/peak"
  result=$(sed -n 's/^RESULT //p' "$work/loadgen-$n.log")
  if [ -z "$result" ]; then echo "| $n | loadgen failed: $(tail -3 "$work/loadgen-$n.log" | tr '\n' ' ') |"; continue; fi
  python3 - "$result" "$n" "$w0" "$w1" "$s0" "$s1" "$t0" "$t1" "$HZ" "$peak" "$r0" "$(refused)" "$server_pid" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); n = int(sys.argv[2])
w0, w1, s0, s1 = map(float, sys.argv[3:7]); t0, t1, hz = float(sys.argv[7]), float(sys.argv[8]), float(sys.argv[9])
peak, r0, r1, server = int(sys.argv[10]), int(sys.argv[11] or 0), int(sys.argv[12] or 0), sys.argv[13]
wall = t1 - t0
cpu = 100 * (w1 - w0) / hz / wall
sfu = f"{100 * (s1 - s0) / hz / wall:.0f} %" if server else "-"
f = lambda k: "-" if r.get(k) is None else str(r[k])
print(f"| {n} | {cpu:.1f} % | {cpu / n:.2f} % | {peak / 1024:.0f} | {f('v2v_p50_ms')} / {f('v2v_p90_ms')} | "
      f"{r['missed']} of {r['turns'] + r['missed']} | {r['failed']} | {r1 - r0} | "
      f"{f('join_p50_ms')} / {f('join_p90_ms')} / {f('join_max_ms')} | {sfu} | {r['loadgen_cpu_pct']} % |")
PY
  grep '^failure:' "$work/loadgen-$n.log" | sort | uniq -c | sed 's/^/    /' >&2 || true
  # The next size starts once this one's sessions are gone.
  for _ in $(seq 120); do [ "$(active)" = "0" ] && break; sleep 0.5; done
done
sleep 1
echo
echo "idle worker after the runs: PSS $(( $(pss_kb "$worker") / 1024 )) MB"
echo "speculative replies (all runs): $(curl -s "http://127.0.0.1:$health/metrics" | awk '
  /^interview_agent_speculative_replies_[a-z]+_total /{sub("interview_agent_speculative_replies_","",$1); sub("_total","",$1); printf "%s %s, ", $1, $2}
  /^interview_agent_cancelled_provider_requests_total/{match($1,/stage="[a-z]+"/); printf "cancelled %s %s, ", substr($1,RSTART+7,RLENGTH-8), $2}' | sed 's/, $//')"
