#!/usr/bin/env bash
# Installs what interview-agent needs to build and test, idempotently:
#   - Debian: libopus-dev + pkg-config (the opus crate links the system libopus)
#   - Python venv at .venv with the official LiveKit Python SDK (real libwebrtc inside),
#     used by the test suite as the reference LiveKit client.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pkg-config --exists opus 2>/dev/null || need_apt+=(libopus-dev pkg-config)
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

VENV="${LK_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating Python venv $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import livekit.rtc, livekit.api, numpy" 2>/dev/null; then
  echo "setup: installing Python test peers' requirements"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r tests/peers/requirements.txt
fi
echo "setup: ok"
