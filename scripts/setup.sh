#!/usr/bin/env bash
# Installs what interview-agent needs to build and test, idempotently:
#   - Debian: libopus-dev + pkg-config (the opus crate links the system libopus)
#   - Python venv at .venv with the official LiveKit Python SDK (real libwebrtc inside),
#     used by the test suite as the reference LiveKit client.
#   - with --tests: Debian's chromium (the browser tests drive it; no browser is ever
#     downloaded) and the fonts it renders the pages with.
#   - npm: the pages' pinned dependencies (livekit-client; puppeteer-core for the browser
#     tests) from examples/hiring_backend/web/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pkg-config --exists opus 2>/dev/null || need_apt+=(libopus-dev pkg-config)
if [ "${1:-}" = --tests ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium fonts-dejavu-core)
fi
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
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
WEB=examples/hiring_backend/web
lock_sum=$(sha256sum "$WEB/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$WEB/node_modules/.lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: installing the pages' npm dependencies (npm ci)"
  (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > "$WEB/node_modules/.lock-sum"
fi
echo "setup: ok"
