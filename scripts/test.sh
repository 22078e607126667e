#!/usr/bin/env bash
# The tests on a fresh machine: install what they need (scripts/deps.sh test), then run them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
cargo test --workspace --locked "$@"
