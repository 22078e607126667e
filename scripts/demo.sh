#!/usr/bin/env bash
# Install sigbundle and run its main job on the real Red Hat signatures shipped in
# tests/fixtures: pack three releases into a signed bundle, verify it, emit oc ConfigMaps.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
cargo install --locked --path . --root "${SIGBUNDLE_ROOT:-$HOME/.local}"
root=${SIGBUNDLE_ROOT:-$HOME/.local}
export PATH="$root/bin:$PATH"
# Manual pages and bash completions beside the binaries (`man pack`, `man unpack-emit`).
for b in pack unpack; do
  "$b" man --dir "$root/share/man/man1" 2>/dev/null
  mkdir -p "$root/share/bash-completion/completions"
  "$b" completions bash > "$root/share/bash-completion/completions/$b"
done
out=${DEMO_DIR:-./demo}
mkdir -p "$out"
[ -f "$out/packer.key" ] || pack key generate --name 'Demo packer <demo@example.org>' -o "$out/packer"
pack --store tests/fixtures/stores/redhat --sign-key "$out/packer.key" --force -o "$out/signatures.tar.zst" \
  sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363 \
  quay.io/openshift-release-dev/ocp-release@sha256:195de2a5ef3af1083620a62a45ea61ac1233ffa27bbce7b30609a69775aeca19 \
  sha256:ea0429e14dc9ff007f56d5db2b75209c2510d81e6869194e33a53352d2b6a4fa
unpack verify "$out/signatures.tar.zst" --packer-key "$out/packer.pub.asc"
unpack emit "$out/signatures.tar.zst" --packer-key "$out/packer.pub.asc" --to-dir "$out/configmaps" --force
echo "ConfigMaps for 'oc apply -f $out/configmaps' are in $out/configmaps"
