#!/usr/bin/env bash
# The main job on a fresh machine, on embedded defaults: installs what it needs, builds, and
# runs `interview-agent demo`: a whole interview with the bundled LiveKit test server, the
# example hiring backend (GraphQL + SQLite), the local AI stack (or OpenAI when
# OPENAI_API_KEY is set), this agent as a dispatched worker, and a scripted candidate (the
# official LiveKit Python SDK) answering with synthesized speech. Prints the conversation and
# the scorecard the backend stored. Extra arguments go to `interview-agent demo`.
# `scripts/demo.sh echo` runs the media-only diagnostic instead (no AI, no backend).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = echo ]; then
  exec scripts/demo-echo.sh
fi
scripts/setup.sh
[ -n "${OPENAI_API_KEY:-}" ] || scripts/setup-ai.sh
cargo build --quiet --workspace --bins
exec target/debug/interview-agent demo "$@"
