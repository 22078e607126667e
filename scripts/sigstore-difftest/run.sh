#!/bin/sh
# The differential run of the sigstore verifier against containers/image (see README.md).
# Usage: scripts/sigstore-difftest/run.sh [OUT]   (default /tmp/sigstore-difftest)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${1:-/tmp/sigstore-difftest}
py=${PYTHON:-/work/skopeo-oracle/venv/bin/python}
"$py" "$here/gen.py" "$out" ${GEN_ARGS:-}
(cd "$repo" && SIGSTORE_DIFFTEST_DIR="$out" cargo test -q -p sigbundle --lib sigstore::tests::difftest_judge -- --ignored --exact >/dev/null)
"$py" "$here/compare.py" "$out"
