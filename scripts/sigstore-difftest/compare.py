#!/usr/bin/env python3
"""Compare the oracle's verdicts (in each case.json) with the Rust verifier's (rust.jsonl).

A disagreement is a different accept/refuse decision or a different verdict class. One
difference is by design and listed apart: the Rust trust refuses to load an unparsable key
("bad-key") where containers/image only notices it once there is a signature to check, so
with no signature layer at all the oracle says "no-signature" (both refuse).

Usage: compare.py OUT  (writes OUT/report.txt, prints it; exit 1 on any disagreement)
"""
import collections
import json
import os
import sys

out = sys.argv[1]
rust = {}
for line in open(f"{out}/rust.jsonl"):
    r = json.loads(line)
    rust[r["name"]] = r
rows = []
per_family = collections.defaultdict(collections.Counter)
per_class = collections.Counter()
disagree, by_design, missing = [], [], []
for name in sorted(os.listdir(f"{out}/cases")):
    c = json.load(open(f"{out}/cases/{name}/case.json"))
    o = c.get("oracle")
    r = rust.get(name)
    fam = c["family"]
    per_family[fam]["cases"] += 1
    if o is None or r is None:
        missing.append(name)
        continue
    per_family[fam]["accept" if o["accept"] else "refuse"] += 1
    per_class[o["class"]] += 1
    if o["accept"] == r["accept"] and o["class"] == r["class"]:
        continue
    if not o["accept"] and not r["accept"] and o["class"] == "no-signature" and r["class"] == "bad-key":
        by_design.append((name, o, r))
        continue
    per_family[fam]["disagree"] += 1
    disagree.append((name, o, r))
lines = []
total = sum(f["cases"] for f in per_family.values())
lines.append(f"{total} cases, {len(disagree)} disagreements, {len(by_design)} by design, {len(missing)} not judged")
lines.append("")
lines.append(f"{'family':28} {'cases':>6} {'accept':>7} {'refuse':>7} {'disagree':>9}")
for fam, cnt in sorted(per_family.items()):
    lines.append(f"{fam:28} {cnt['cases']:6} {cnt['accept']:7} {cnt['refuse']:7} {cnt['disagree']:9}")
lines.append("")
lines.append("oracle verdict classes: " + ", ".join(f"{k} {v}" for k, v in sorted(per_class.items())))
for title, items in [("DISAGREEMENTS", disagree), ("by design (bad-key at load vs no-signature)", by_design)]:
    if items:
        lines.append("")
        lines.append(title + ":")
        for name, o, r in items:
            lines.append(f"  {name}")
            lines.append(f"    oracle: {'ACCEPT' if o['accept'] else 'REFUSE'} {o['class']}: {o['message'][:300]}")
            lines.append(f"    rust:   {'ACCEPT' if r['accept'] else 'REFUSE'} {r['class']}: {r['reason'][:300]}")
if missing:
    lines.append("")
    lines.append("not judged: " + " ".join(missing[:50]))
text = "\n".join(lines) + "\n"
open(f"{out}/report.txt", "w").write(text)
print(text)
sys.exit(1 if disagree or missing else 0)
