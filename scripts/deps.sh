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
# kubernetes-client: Debian's kubectl, which renders kustomizations offline (tests/fleet.rs).
# Where another package owns /usr/bin/kubectl (google-cloud-sdk's, say), installing it would
# clash: its files are unpacked into ${XDG_CACHE_HOME:-~/.cache}/sigbundle/kubernetes-client
# instead, where the tests look for it.
kubectl_dest=${XDG_CACHE_HOME:-$HOME/.cache}/sigbundle/kubernetes-client
kubectl_owner=$(dpkg-query -S /usr/bin/kubectl 2>/dev/null | cut -d: -f1 || true)
unpack_kubectl=
if [ "${1:-}" = test ]; then
  if [ -z "$kubectl_owner" ]; then
    want+=(kubernetes-client)
  elif [ "$kubectl_owner" != kubernetes-client ] && [ ! -x "$kubectl_dest/usr/bin/kubectl" ]; then
    unpack_kubectl=1
  fi
fi
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
if [ -n "$unpack_kubectl" ]; then
  sudo=${SUDO-$( [ "$(id -u)" = 0 ] || echo sudo )}
  [ "${#need[@]}" -gt 0 ] || $sudo apt-get update -qq
  tmp=$(mktemp -d)
  # (as root, apt would hand the download to its _apt user, who cannot write in $tmp)
  (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root kubernetes-client)
  mkdir -p "$kubectl_dest"
  dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$kubectl_dest"
  rm -rf "$tmp"
fi
