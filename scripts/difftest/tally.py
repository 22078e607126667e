#!/usr/bin/env python3
"""Tally the disagreements of a judged campaign by case kind.

  tally.py OUT [--classes C ...] [--examples N] [--all]

Reads OUT/results.tsv (from compare.py) and prints, per class and direction, the disagreements
grouped by their description with the style/framing details and numbers blanked, the count of
cases of that kind that agreed, and examples (case id, store path, both reasons). --all also lists
the kinds without disagreements.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys


def stem(desc: str) -> str:
    s = re.sub(r"\s*\[x\d+\]", "", desc)
    s = re.sub(r"\((?:[^()]*-style|gpg|hand-made|libbzip2)[^()]*\)", "", s)
    s = re.sub(r"\b(?:go|goc|gpg)-style\b", "", s)
    s = re.sub(r"\(C\d,? [^()]*\)", "", s)
    s = re.sub(r"\((?:new|old|old-indet|partial)\)", "(F)", s)
    s = re.sub(r"@\d+", "", s)
    s = re.sub(r"\b0x[0-9a-f]+\b", "X", s)
    s = re.sub(r"\b[0-9a-f]{6,}\b", "H", s)
    s = re.sub(r"\b\d+\b", "N", s)
    s = re.sub(r"\s+", " ", s).strip(" ,:")
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--classes", nargs="*")
    ap.add_argument("--examples", type=int, default=2)
    ap.add_argument("--all", action="store_true")
    a = ap.parse_args()
    path = os.path.join(a.out, "results.tsv")
    rows = []
    with open(path, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        for l in f:
            rows.append(dict(zip(head, l.rstrip("\n").split("\t"))))
    by = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in rows:
        if a.classes and r["class"] not in a.classes:
            continue
        by[r["class"]][stem(r["description"])].append(r)
    for cls in sorted(by):
        kinds = by[cls]
        print(f"== {cls}")
        for k in sorted(kinds, key=lambda k: -sum(r["agree"] == "no" for r in kinds[k])):
            rs = kinds[k]
            fa = [r for r in rs if r["agree"] == "no" and r["sigbundle"] == "accept"]
            fr = [r for r in rs if r["agree"] == "no" and r["sigbundle"] == "refuse"]
            var = [r for r in rs if r["agree"] == "variable"]
            if not (fa or fr or var) and not a.all:
                continue
            print(f"  {k}: {len(rs)} cases, sigbundle accepts/cluster refuses {len(fa)}, "
                  f"sigbundle refuses/cluster accepts {len(fr)}" + (f", oracle not deterministic {len(var)}" if var else ""))
            for lst in (fa, fr, var):
                for r in lst[:a.examples]:
                    print(f"      {r['case']}  {os.path.join(a.out, 'stores', r['group'], r['digest'].replace(':', '='))}")
                    print(f"        [{r['description']}]")
                    print(f"        cluster:   {r['oracle_reason'][:220]}" + (f"  ({r.get('oracle_runs')})" if r.get("oracle_runs") else ""))
                    print(f"        sigbundle: {r['sigbundle_reason'][:220]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
