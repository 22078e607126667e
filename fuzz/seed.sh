#!/usr/bin/env bash
# Seed each target's corpus from the test fixtures.
set -euo pipefail
cd "$(dirname "$0")"
F=../tests/fixtures
mkdir -p corpus/{bundle_reader,manifest,release_signature,update_graph,auth_file,tar_dialect,inspect_render,audit_reader}
n=0; for f in $(find "$F/stores" "$F/malformed" -type f \( -name "signature-*" -o -name "*.signature*" \)); do cp "$f" "corpus/release_signature/s$n"; n=$((n+1)); done
cp "$F/graph/amd64-stable-4.13.json" corpus/update_graph/
printf '{"auths":{"quay.io":{"auth":"dTE6cDE="},"r.example/ns":{"username":"u","password":"p"}}}' > corpus/auth_file/a.json
if [ -x ../target/debug/pack ]; then
  t=$(mktemp -d)
  ../target/debug/pack --store "$F/stores/redhat" --no-sign --compression none -o "$t/b.tar" -q \
    sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363
  cp "$t/b.tar" corpus/bundle_reader/plain.tar
  tar -xOf "$t/b.tar" manifest.json > corpus/manifest/manifest.json
  cp corpus/manifest/manifest.json corpus/inspect_render/manifest.json
  # An audit log of two records (a verify and a refusal).
  ../target/debug/unpack --audit-log corpus/audit_reader/log verify "$t/b.tar" --allow-unsigned >/dev/null 2>&1 || true
  printf 'x' >> "$t/b.tar"
  ../target/debug/unpack --audit-log corpus/audit_reader/log verify "$t/b.tar" --allow-unsigned >/dev/null 2>&1 || true
  ../target/debug/pack --store "$F/stores/redhat" --no-sign -o "$t/b.tar.zst" -q \
    sha256:195de2a5ef3af1083620a62a45ea61ac1233ffa27bbce7b30609a69775aeca19
  cp "$t/b.tar.zst" corpus/bundle_reader/zstd.tar.zst
  # Three releases: the reader hands each to its sink when its signatures are verified.
  ../target/debug/pack --store "$F/stores/redhat" --no-sign --compression none -o "$t/three.tar" -q \
    sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363 \
    sha256:195de2a5ef3af1083620a62a45ea61ac1233ffa27bbce7b30609a69775aeca19 \
    sha256:ea0429e14dc9ff007f56d5db2b75209c2510d81e6869194e33a53352d2b6a4fa
  cp "$t/three.tar" corpus/bundle_reader/three.tar
  rm -rf "$t"
fi
# tar_dialect's inputs are choices, not bytes of a tar: it starts from nothing.
echo "seeded: $(ls corpus/* | wc -l) files"
