#!/usr/bin/env python3
"""Copy cases of a differential run into tests/fixtures/sigstore/cases/ (self-contained: the
keys and the image manifest are copied beside case.json), where the unit test
`sigstore::tests::disagreement_cases_from_the_differential_run` checks them.

Usage: keep.py OUT CASE-NAME-OR-SUBSTRING... [--why TEXT] [--rust-class CLASS]
  --why         why the case is kept (written to case.json "kept_because")
  --rust-class  for a difference that is by design: the class the Rust verifier gives instead
"""
import argparse
import json
import os
import shutil

here = os.path.dirname(os.path.abspath(__file__))
dest_root = os.path.normpath(os.path.join(here, "../../tests/fixtures/sigstore/cases"))
ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("names", nargs="+")
ap.add_argument("--why", default="")
ap.add_argument("--rust-class")
a = ap.parse_args()
all_cases = sorted(os.listdir(f"{a.out}/cases"))
for pat in a.names:
    hits = [c for c in all_cases if c == pat or c.split("-", 1)[1] == pat]
    if len(hits) != 1:
        raise SystemExit(f"{pat}: {len(hits)} matches")
    src = f"{a.out}/cases/{hits[0]}"
    c = json.load(open(f"{src}/case.json"))
    name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.+=") else "_" for ch in hits[0].split("-", 1)[1])
    dst = f"{dest_root}/{name}"
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    keys = []
    for i, k in enumerate(c["keys"]):
        shutil.copy(os.path.join(src, k), f"{dst}/key{i}.pub")
        keys.append(f"key{i}.pub")
    c["keys"] = keys
    shutil.copy(os.path.join(src, c["image_manifest"]), f"{dst}/image.manifest")
    c["image_manifest"] = "image.manifest"
    for f in [c.get("sig_manifest")] + c["blobs"]:
        if f:
            shutil.copy(f"{src}/{f}", f"{dst}/{f}")
    c["name"] = name
    if a.why:
        c["kept_because"] = a.why
    if a.rust_class:
        c["rust"] = {"accept": False, "class": a.rust_class}
    json.dump(c, open(f"{dst}/case.json", "w"), indent=1, ensure_ascii=False)
    print(dst)
