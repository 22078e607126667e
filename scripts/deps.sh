#!/usr/bin/env bash
# Install the Debian packages sigbundle needs: `deps.sh build` for building it, `deps.sh test`
# for building and running its tests. Only what is missing is installed (sudo when not root).
set -euo pipefail
# libclang-dev: sequoia's OpenSSL backend generates bindings with bindgen; libssl-dev and
# pkg-config: the crypto backend and TLS.
build=(libclang-dev libssl-dev pkg-config)
# gnupg: interop tests and test signatures; docker-registry: the real registry the tests push to;
# openssl: the CLI makes test certificates; bsdutils: `script` gives a test a terminal;
# faketime and util-linux (prlimit): clock and file-size fault tests; time (GNU time): the peak
# memory of unpack on hostile bundles (tests/hostile.rs).
test=(gnupg docker-registry openssl bsdutils faketime util-linux time)
case "${1:-}" in
  build) want=("${build[@]}") ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  *) echo "usage: scripts/deps.sh build|test" >&2; exit 2 ;;
esac
need=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  sudo=${SUDO-$( [ "$(id -u)" = 0 ] || echo sudo )}
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
