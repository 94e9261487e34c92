#!/usr/bin/env bash
# The test command (README and CI): install prerequisites, then run every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
scripts/setup-ai.sh   # the local AI stack for the voice end-to-end test
export LK_PYTHON="${LK_PYTHON:-$PWD/.venv/bin/python}"
cargo test --workspace --locked "$@"
