#!/usr/bin/env python3
"""Turn a judged campaign into test fixtures: for each kind of disagreement a campaign found
against an older sigbundle, a few cases with the cluster's verdict written beside them.

  fixtures.py --out CAMPAIGN_DIR --before OLD_RESULTS.tsv --dest tests/fixtures/cvo-verdicts [--per-kind 2]

CAMPAIGN_DIR is what gen.py wrote and compare.py judged (its results.tsv holds the oracle's
verdicts); OLD_RESULTS.tsv is compare.py's results.tsv for the older binary, which says which
cases were disagreements. A "kind" is the case's class and the first words of its description,
and its direction (the older sigbundle accepted what the cluster refuses, or the reverse).
Only cases with one signature file under one digest, judged from a folder store, are taken, so
that tests can drive them through pack, unpack verify and unpack emit.

Writes DEST/expected.tsv (case, keyring file, the cluster's verdict), DEST/keys/ and
DEST/stores/<case>/sha256=<hex>/signature-1, and DEST/README.md.
"""
import argparse
import csv
import os
import re
import shutil
import sys


def kind(row):
    d = re.sub(r"\((go|goc|gpg)(-style)?[^)]*\)", "", row["description"])
    d = re.split(r"[:(\[]", d)[0]
    words = d.split()[:2]
    return (row["class"], " ".join(words), row["oracle"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--before", required=True)
    ap.add_argument("--dest", required=True)
    ap.add_argument("--per-kind", type=int, default=2)
    ap.add_argument("--max-bytes", type=int, default=200_000, help="skip signature files larger than this")
    ap.add_argument("--append", action="store_true", help="add to DEST's cases instead of replacing them")
    a = ap.parse_args()

    groups = {g["group"]: g for g in csv.DictReader(open(os.path.join(a.out, "groups.tsv")), delimiter="\t")}
    cases = {c["case"]: c for c in csv.DictReader(open(os.path.join(a.out, "cases.tsv")), delimiter="\t")}
    now = {r["case"]: r for r in csv.DictReader(open(os.path.join(a.out, "results.tsv")), delimiter="\t")}
    before = list(csv.DictReader(open(a.before), delimiter="\t"))

    taken = {}
    for r in before:
        if r["agree"] == "yes":
            continue
        c = cases[r["case"]]
        g = groups[c["group"]]
        if g["transport"] != "file":
            continue
        store = os.path.join(a.out, "stores", c["group"], "sha256=" + c["digest"].split(":", 1)[1])
        files = sorted(os.listdir(store)) if os.path.isdir(store) else []
        if files != ["signature-1"] or os.path.getsize(os.path.join(store, "signature-1")) > a.max_bytes:
            continue
        if now[r["case"]]["agree"] != "yes":
            # Still a disagreement (a documented limit): not a fixture of agreement.
            continue
        k = kind(r)
        if len(taken.setdefault(k, [])) < a.per_kind:
            taken[k].append(r["case"])

    rows = []
    if a.append and os.path.exists(os.path.join(a.dest, "expected.tsv")):
        descs = {}
        for line in open(os.path.join(a.dest, "README.md")):
            if line.startswith("| ") and not line.startswith("| case"):
                parts = line.strip().strip("|").split("|", 1)
                descs[parts[0].strip()] = parts[1].strip()
        for line in open(os.path.join(a.dest, "expected.tsv")).read().splitlines()[1:]:
            name, key, verdict = line.split("\t", 2)
            rows.append((name, key, verdict, descs.get(name, "")))
    elif os.path.exists(a.dest):
        shutil.rmtree(a.dest)
    os.makedirs(os.path.join(a.dest, "keys"), exist_ok=True)
    have = {r[0] for r in rows}
    added = 0
    for k in sorted(taken):
        for name in taken[k]:
            if name in have:
                continue
            added += 1
            c = cases[name]
            g = groups[c["group"]]
            if g["configmap"] != "-":
                src = os.path.join(a.out, g["configmap"])
            else:
                entries = g["entries"].split(";")
                if len(entries) != 1:
                    continue
                src = os.path.join(a.out, entries[0].split("=", 1)[1])
            key = c["group"] + os.path.splitext(src)[1]
            if not os.path.exists(os.path.join(a.dest, "keys", key)):
                shutil.copyfile(src, os.path.join(a.dest, "keys", key))
            hexd = c["digest"].split(":", 1)[1]
            dst = os.path.join(a.dest, "stores", name, "sha256=" + hexd)
            os.makedirs(dst)
            shutil.copyfile(os.path.join(a.out, "stores", c["group"], "sha256=" + hexd, "signature-1"),
                            os.path.join(dst, "signature-1"))
            verdict = now[name]["oracle_reason"] if now[name]["oracle"] == "refuse" else "OK"
            rows.append((name, key, verdict.replace("\t", " ").replace("\n", " "), c["description"]))
    with open(os.path.join(a.dest, "expected.tsv"), "w") as f:
        f.write("case\tkeyring\tcvo_verdict (the cluster-version operator's own code)\n")
        for name, key, verdict, _ in rows:
            f.write(f"{name}\t{key}\t{verdict}\n")
    with open(os.path.join(a.dest, "README.md"), "w") as f:
        f.write("# Signatures the cluster judged, one or two per kind of disagreement found\n\n")
        f.write("Made by `scripts/difftest/fixtures.py` from a differential campaign (`scripts/difftest/`):\n")
        f.write("each case is a store folder (`stores/CASE/sha256=<hex>/signature-1`) whose verdict by the\n")
        f.write("cluster-version operator's own verification code (library-go `pkg/verify`, Go 1.25) is in\n")
        f.write("`expected.tsv`; before sigbundle ported that code path, sigbundle disagreed on each of them.\n")
        f.write("`tests/verdicts.rs` drives every case through `pack --dry-run --json`, `pack`, `unpack verify`\n")
        f.write("and `unpack emit`.\n\n| case | what |\n|---|---|\n")
        for name, _, _, desc in rows:
            f.write(f"| {name} | {desc.replace('|', '/')} |\n")
    print(f"{added} cases added, {len(rows)} in all, from {len(taken)} kinds -> {a.dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
