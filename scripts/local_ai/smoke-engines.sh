#!/usr/bin/env bash
# The engine smoke: one TTS sentence (piper), one transcription of it (faster-whisper), one
# LLM completion of a few tokens (llama.cpp), each in its own child process.
#   scripts/local_ai/smoke-engines.sh [PYTHON]      (default: .venv-ai/bin/python)
# On a crash it names the engine, its exit signal and what to do, and exits 1; so a broken
# engine is found here, not by a test timing out. setup-ai.sh runs it at the end of every run.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY="${1:-${AI_VENV:-.venv-ai}/bin/python}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

declare -A NAME=([tts]="TTS (piper-tts, onnxruntime)" [stt]="STT (faster-whisper, CTranslate2)" [llm]="LLM (llama.cpp via llama-cpp-python)")
declare -A FIX=(
  [llm]="llama.cpp was built for another CPU; rerun with LOCAL_AI_CPU=plain scripts/setup-ai.sh (a build without AVX, slower, runs on any x86-64)"
  [stt]="the prebuilt CTranslate2 wheel does not run on this CPU; try CT2_FORCE_CPU_ISA=GENERIC in the environment of the server"
  [tts]="the prebuilt onnxruntime wheel does not run on this CPU; install Debian's espeak-ng and the server falls back to it"
)

failed=0
for engine in tts stt llm; do
  t0=$(date +%s.%N)
  "$PY" scripts/local_ai/engine_smoke.py "$engine" --wav "$tmp/speech.wav" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" = 0 ]; then
    echo "    smoke: $(cat "$tmp/out")"
    continue
  fi
  failed=1
  {
    if [ "$rc" -gt 128 ]; then
      sig=$((rc - 128))
      signame="SIG$(kill -l "$sig" 2>/dev/null || echo "$sig")"
      echo "!! engine smoke: the ${NAME[$engine]} engine crashed with $signame (signal $sig)."
      case "$signame" in
        SIGILL) echo "!! Illegal instruction: ${FIX[$engine]}." ;;
        SIGKILL) echo "!! Killed: out of memory? (the stack needs ~1 GB)" ;;
        *) echo "!! A native library crashed; the last lines it wrote are below." ;;
      esac
    else
      echo "!! engine smoke: the ${NAME[$engine]} engine failed (exit status $rc)."
    fi
    echo "!! its last lines on stderr:"
    tail -n 8 "$tmp/err" | sed 's/^/!!   /'
  } >&2
done
if [ "$failed" = 1 ]; then
  echo "!! the local AI stack is not usable; see above (scripts/local_ai/README.md: 'When an engine fails')" >&2
  exit 1
fi
