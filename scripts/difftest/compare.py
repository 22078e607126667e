#!/usr/bin/env python3
"""Judge every generated case with the oracle (the CVO's own verification code) and with
sigbundle's `pack --dry-run`, and report where they disagree.

  compare.py --out OUT [--pack PATH] [--judge PATH] [--jobs N] [--groups G ...]
  compare.py --selftest VECTORS/cvo-differential [--judge PATH] [--pack PATH]

Reads OUT/cases.tsv and OUT/groups.tsv (written by gen.py), writes OUT/results.tsv and prints a
summary per class. `http` groups are served from OUT/stores by a local HTTP server on 127.0.0.1,
as the cluster reads stores. The oracle's interface: `JUDGE -k NAME=KEYRING ... -batch`, stdin
lines `DIGEST<TAB>STORE`, one verdict line (`OK` or `FAIL: reason`) per input line.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_PACK = "/work/main/target/debug/pack"
DEFAULT_JUDGE = os.environ.get("CVO_JUDGE", "cvo-judge")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def serve(root: str):
    h = functools.partial(QuietHandler, directory=root)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        return [dict(zip(head, l.rstrip("\n").split("\t"))) for l in f if l.strip()]


def run_oracle(judge: str, entries: list[tuple[str, str]], lines: list[tuple[str, str]]) -> list[str]:
    cmd = [judge]
    for n, p in entries:
        cmd += ["-k", f"{n}={p}"]
    cmd.append("-batch")
    inp = "".join(f"{d}\t{s}\n" for d, s in lines)
    r = subprocess.run(cmd, input=inp, capture_output=True, text=True, errors="replace")
    out = [clean_oracle(l) for l in r.stdout.splitlines()]
    if r.returncode != 0 and len(out) < len(lines):
        msg = (out[0] if out else r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}")
        return [f"FAIL: {msg}"] * len(lines)
    if len(out) != len(lines):
        raise RuntimeError(f"oracle answered {len(out)} lines for {len(lines)}: {r.stderr[-500:]}")
    return out


def run_pack(pack: str, keyrings: list[str], store: str, digests: list[str], timeout: int) -> dict[str, tuple[bool, str]]:
    """{digest: (accepted, reason)}. One `pack --dry-run --json` run over all digests; when the
    whole run fails (pack aborts on some release), the list is halved until the releases that
    abort it are isolated; those get the refusal `pack aborted: ...`."""
    res, fatal = run_pack_once(pack, keyrings, store, digests, timeout)
    if fatal is None:
        return res
    if len(digests) == 1:
        return {digests[0]: (False, f"pack aborted: {fatal}")}
    mid = len(digests) // 2
    out = run_pack(pack, keyrings, store, digests[:mid], timeout)
    out.update(run_pack(pack, keyrings, store, digests[mid:], timeout))
    return out


def run_pack_once(pack, keyrings, store, digests, timeout):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(digests) + "\n")
        lst = f.name
    cmd = [pack, "--dry-run", "--json", "--no-sign", "-o", os.devnull, "--store", store, "--from-file", lst,
           "--allow-missing", "--quiet", "--timeout", str(timeout), "--retries", "0", "--concurrency", "8"]
    for k in keyrings:
        cmd += ["--keyring", k]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=3600)
    finally:
        os.unlink(lst)
    try:
        j = json.loads(r.stdout)
    except Exception:
        err = (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
        return None, err
    res = {}
    # A release is accepted when pack would pack it: some signature is valid and, with a trust
    # configuration of several entries, every entry is satisfied (it is not listed as missing).
    missing = {m["digest"]: m.get("reason", "missing") for m in j.get("missing", [])}
    # Where pack read a signature: `fetched.index` (docs/json.md); bare `index` before.
    index = lambda s: (s.get("fetched") or {}).get("index", s.get("index"))
    for p in j.get("plan", []):
        sigs = p.get("signatures") or []
        valid = [s for s in sigs if s.get("verdict") == "valid"]
        if valid and p["digest"] in missing:
            res[p["digest"]] = (False, missing[p["digest"]])
        elif valid:
            res[p["digest"]] = (True, "valid (signature-%s)" % ",".join(str(index(s)) for s in valid))
        else:
            why = []
            for s in sigs:
                extra = [str(s[k]) for k in ("problem", "reason", "detail") if s.get(k)]
                why.append(f"sig-{index(s)}: {s.get('verdict')}: {' '.join(extra)}".strip())
            why += [f"error: {e}" for e in p.get("errors") or []]
            res[p["digest"]] = (False, " | ".join(why) if why else "no signature found")
    for m in j.get("missing", []):
        res.setdefault(m["digest"], (False, m.get("reason", "missing")))
    for d in digests:
        res.setdefault(d, (False, "not in pack's plan"))
    return res, None


TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d): ")


NOTFOUND = re.compile(r"(, )?unable to retrieve signature from \S+: no more signatures to check")


def clean_oracle(v: str) -> str:
    """Drop the per-error timestamps the CVO's aggregate error carries."""
    v = TS.sub("", v)
    v = NOTFOUND.sub("", v)
    if v.startswith("FAIL: [") and v.endswith("]"):
        v = "FAIL: " + v[7:-1]
    return v


def one_line(s: str, n: int = 300) -> str:
    s = s.replace("\t", " ").replace("\n", " ")
    return s if len(s) <= n else s[:n] + "…"


def judge_group(a, base_url, gname, ginfo, cases):
    out = os.path.abspath(a.out)
    entries = []
    for e in ginfo["entries"].split(";"):
        n, p = e.split("=", 1)
        entries.append((n, os.path.join(out, p)))
    if ginfo["transport"] == "http":
        store = f"{base_url}/{gname}"
    else:
        store = os.path.join(out, "stores", gname)
    if a.keyring_mode == "configmap" and ginfo.get("configmap", "-") != "-":
        keyrings = [os.path.join(out, ginfo["configmap"])]
    else:
        keyrings = [p for _, p in entries]
    digests = [c["digest"] for c in cases]
    with cf.ThreadPoolExecutor(2) as ex:
        fo = ex.submit(run_oracle, a.judge, entries, [(d, store) for d in digests])
        fp = ex.submit(run_pack, a.pack, keyrings, store, digests, a.timeout)
        ov, pv = fo.result(), fp.result()
    # Cases marked [xN] are judged N times: Go picks some keys from a map, so the cluster's
    # verdict on them may change from run to run (each run is a fresh process).
    runs = {}
    rep = [i for i, c in enumerate(cases) if REPEAT.search(c["description"])]
    if rep:
        times = max(int(REPEAT.search(cases[i]["description"]).group(1)) for i in rep)
        seen = {i: [ov[i]] for i in rep}
        for _ in range(times - 1):
            more = run_oracle(a.judge, entries, [(digests[i], store) for i in rep])
            for i, v in zip(rep, more):
                seen[i].append(v)
        for i, vs in seen.items():
            ok = sum(1 for v in vs if v == "OK")
            runs[i] = f"{ok}/{len(vs)} OK"
        # Go's iteration over a small map is random but far from uniform (a random start slot in
        # a group of 8), so one case's N runs may all agree while its twins vary: the cases of one
        # group share one keyring and one uncertainty.
        if any(0 < sum(1 for v in vs if v == "OK") < len(vs) for vs in seen.values()):
            for i in seen:
                runs[i] += " (group varies)"
    rows = []
    for i, (c, o) in enumerate(zip(cases, ov)):
        acc, why = pv[c["digest"]]
        rows.append((c, o, acc, why, runs.get(i, "")))
    return rows


REPEAT = re.compile(r"\[x(\d+)\]")


def variable(r) -> bool:
    """The oracle gave both verdicts over repeated runs."""
    runs = r.get("oracle_runs", "")
    m = re.match(r"(\d+)/(\d+) OK", runs)
    return bool(m) and (0 < int(m.group(1)) < int(m.group(2)) or "group varies" in runs)


def norm_reason(s: str) -> str:
    s = re.sub(r"(/[\w.=+-]+)+", "<path>", s)
    s = re.sub(r"https?://\S+", "<url>", s)
    s = re.sub(r"\b[0-9A-Fa-f]{16,}\b", "<hex>", s)
    s = re.sub(r"\d+", "N", s)
    s = re.sub(r"sig-N: ", "", s)
    s = re.sub(r"\([0-9a-fN]+\)", "(x)", s)
    s = re.sub(r"\s+", " ", s)
    return s.strip()


def summarize(rows, width=3):
    by = collections.defaultdict(list)
    for r in rows:
        by[r["class"]].append(r)
    tot = collections.Counter()
    lines = []
    lines.append(f"{'class':<15} {'cases':>6} {'agree':>6} {'sb-accepts/cvo-refuses':>23} {'sb-refuses/cvo-accepts':>23}")
    for cls in sorted(by):
        rs = by[cls]
        var = [r for r in rs if r.get("agree") == "variable"]
        fa = [r for r in rs if r["sigbundle"] == "accept" and r["oracle"] == "refuse" and r.get("agree") != "variable"]
        fr = [r for r in rs if r["sigbundle"] == "refuse" and r["oracle"] == "accept" and r.get("agree") != "variable"]
        tot["var"] += len(var)
        tot["cases"] += len(rs)
        tot["fa"] += len(fa)
        tot["fr"] += len(fr)
        lines.append(f"{cls:<15} {len(rs):>6} {len(rs) - len(fa) - len(fr) - len(var):>6} {len(fa):>23} {len(fr):>23}"
                     + (f"   oracle not deterministic: {len(var)}" if var else ""))
        if var:
            for r in var[:width]:
                lines.append(f"      {r['case']}  [{r['description']}]  oracle {r['oracle_runs']}, sigbundle {r['sigbundle']}: "
                             f"{one_line(r['sigbundle_reason'], 120)}")
        for label, lst in (("sigbundle ACCEPTS, cluster refuses", fa), ("sigbundle REFUSES, cluster accepts", fr)):
            if not lst:
                continue
            lines.append(f"    {label}: {len(lst)}; examples:")
            # one example for each of the most frequent reasons (the other side's reason)
            side = "sigbundle_reason" if label.startswith("sigbundle REFUSES") else "oracle_reason"
            groups = collections.defaultdict(list)
            for r in lst:
                groups[norm_reason(r[side])].append(r)
            picks = [v[len(v) // 2] for _, v in sorted(groups.items(), key=lambda kv: -len(kv[1]))]
            chosen = {id(r) for r in picks[:width]}
            for r in lst:  # fill up with other descriptions when there are few distinct reasons
                if len(picks) >= width:
                    break
                if id(r) not in chosen and r["description"] not in {p["description"] for p in picks}:
                    picks.append(r)
                    chosen.add(id(r))
            shown = 0
            for r in picks:
                lines.append(f"      {r['case']}  [{r['description']}]  stores/{r['group']}/{r['digest'].replace(':', '=')}")
                lines.append(f"          cluster:   {one_line(r['oracle_reason'], 200)}")
                lines.append(f"          sigbundle: {one_line(r['sigbundle_reason'], 200)}")
                shown += 1
                if shown >= width:
                    break
    lines.append("")
    lines.append("disagreements by sigbundle's reason (numbers, hex and paths blanked):")
    for cls in sorted(by):
        for label, want in (("sb accepts / cvo refuses", ("accept", "refuse")), ("sb refuses / cvo accepts", ("refuse", "accept"))):
            lst = [r for r in by[cls] if (r["sigbundle"], r["oracle"]) == want and r.get("agree") != "variable"]
            if not lst:
                continue
            cnt = collections.Counter(norm_reason(r["sigbundle_reason"] if want[0] == "refuse" else r["oracle_reason"])
                                      for r in lst)
            lines.append(f"  {cls} — {label} ({len(lst)}), by {'sigbundle' if want[0] == 'refuse' else 'cluster'} reason:")
            for reason, n in cnt.most_common(8):
                lines.append(f"      {n:>5}  {one_line(reason, 150)}")
    lines.append(f"{'TOTAL':<15} {tot['cases']:>6} {tot['cases'] - tot['fa'] - tot['fr'] - tot['var']:>6} {tot['fa']:>23} "
                 f"{tot['fr']:>23}" + (f"   oracle not deterministic: {tot['var']}" if tot["var"] else ""))
    return "\n".join(lines)


def recheck(a):
    """Judge every disagreeing case of OUT/results.tsv again, alone: the oracle in its one-case
    form (`-k ... DIGEST STORE`, a fresh process per case) and `pack` on that one digest."""
    out = os.path.abspath(a.out)
    res = read_tsv(os.path.join(out, "results.tsv"))
    groups = {g["group"]: g for g in read_tsv(os.path.join(out, "groups.tsv"))}
    todo = [r for r in res if r["agree"] == "no" and (not a.classes or r["class"] in a.classes)]
    srv, url = serve(os.path.join(out, "stores"))
    same = collections.Counter()
    lines = []
    try:
        for r in todo:
            g = groups[r["group"]]
            entries = [tuple(e.split("=", 1)) for e in g["entries"].split(";")]
            entries = [(n, os.path.join(out, p)) for n, p in entries]
            store = f"{url}/{r['group']}" if g["transport"] == "http" else os.path.join(out, "stores", r["group"])
            cmd = [a.judge]
            for n, p in entries:
                cmd += ["-k", f"{n}={p}"]
            cmd += [r["digest"], store]
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
            o = clean_oracle((p.stdout.strip().splitlines() or [p.stderr.strip()])[-1] if (p.stdout or p.stderr) else "")
            if a.keyring_mode == "configmap" and g.get("configmap", "-") != "-":
                keyrings = [os.path.join(out, g["configmap"])]
            else:
                keyrings = [p_ for _, p_ in entries]
            acc, why = run_pack(a.pack, keyrings, store, [r["digest"]], a.timeout)[r["digest"]]
            ov = "accept" if o == "OK" else "refuse"
            sv = "accept" if acc else "refuse"
            ok = ov == r["oracle"] and sv == r["sigbundle"]
            same["reproduced" if ok else "NOT reproduced"] += 1
            if not ok:
                lines.append(f"NOT reproduced: {r['case']}: batch {r['oracle']}/{r['sigbundle']}, alone {ov}/{sv}: "
                             f"{one_line(o, 120)} | {one_line(why, 120)}")
    finally:
        srv.shutdown()
    for l in lines:
        print(l)
    print(f"recheck: {same['reproduced']} of {len(todo)} disagreements reproduced case by case "
          f"(oracle alone, pack alone); {same['NOT reproduced']} not")
    return 1 if same["NOT reproduced"] else 0


def selftest(a):
    vd = os.path.abspath(a.selftest)
    exp = []
    with open(os.path.join(vd, "expected.tsv")) as f:
        head = f.readline().rstrip("\n").split("\t")
        dig = head[2].split("digest ")[1].rstrip(")")
        for l in f:
            if l.strip():
                c, k, v = l.rstrip("\n").split("\t", 2)
                exp.append((c, k, v))
    srv, url = serve(os.path.join(vd, "stores"))
    bad = 0
    sb = collections.Counter()
    try:
        by_key = collections.defaultdict(list)
        for c, k, v in exp:
            by_key[k].append((c, v))
        for k, lst in by_key.items():
            kp = os.path.join(vd, "keys", k)
            got = run_oracle(a.judge, [("verifier-public-key-test", kp)], [(dig, f"{url}/{c}") for c, _ in lst])
            for (c, v), g in zip(lst, got):
                same = (v == "OK") == (g == "OK")
                exact = v == g
                if not same:
                    bad += 1
                print(f"{'ok ' if same else 'BAD'} {c:<42} expected {one_line(v, 60):<62} oracle {one_line(g, 60)}"
                      + ("" if exact or not same else "  (reason differs)"))
                if a.pack and os.path.exists(a.pack):
                    pv = run_pack(a.pack, [kp], os.path.join(vd, "stores", c), [dig], a.timeout)[dig]
                    agree = pv[0] == (g == "OK")
                    sb["agree" if agree else "disagree"] += 1
                    if not agree:
                        print(f"      sigbundle disagrees: {'accept' if pv[0] else 'refuse'}: {one_line(pv[1], 150)}")
    finally:
        srv.shutdown()
    print(f"selftest: {len(exp) - bad}/{len(exp)} oracle verdicts match expected.tsv (OK vs FAIL)")
    if sb:
        print(f"selftest: sigbundle agrees with the oracle on {sb['agree']}/{sb['agree'] + sb['disagree']}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="the directory gen.py wrote")
    ap.add_argument("--pack", default=DEFAULT_PACK, help=f"sigbundle's pack binary [{DEFAULT_PACK}]")
    ap.add_argument("--judge", default=DEFAULT_JUDGE, help="the oracle binary [$CVO_JUDGE or cvo-judge on PATH]")
    ap.add_argument("--jobs", type=int, default=2, help="groups judged at once")
    ap.add_argument("--groups", nargs="*", help="only these groups")
    ap.add_argument("--classes", nargs="*", help="only these classes")
    ap.add_argument("--timeout", type=int, default=30, help="pack's per-request timeout")
    ap.add_argument("--keyring-mode", choices=["files", "configmap"], default="files",
                    help="multi-entry groups: pass each entry file as --keyring (today), or the ConfigMap YAML")
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument("--selftest", metavar="DIR", help="check the oracle against VECTORS/cvo-differential and exit")
    ap.add_argument("--recheck", action="store_true",
                    help="judge each disagreement of OUT/results.tsv again alone (oracle one-case form, pack one digest)")
    a = ap.parse_args()
    if a.selftest:
        sys.exit(selftest(a))
    if a.recheck:
        if not a.out:
            ap.error("--out is required")
        sys.exit(recheck(a))
    if not a.out:
        ap.error("--out is required")
    cases = read_tsv(os.path.join(a.out, "cases.tsv"))
    groups = {g["group"]: g for g in read_tsv(os.path.join(a.out, "groups.tsv"))}
    by_group = collections.defaultdict(list)
    for c in cases:
        if a.classes and c["class"] not in a.classes:
            continue
        if a.groups and c["group"] not in a.groups:
            continue
        by_group[c["group"]].append(c)
    srv, url = serve(os.path.join(os.path.abspath(a.out), "stores"))
    t0 = time.time()
    results = []
    try:
        with cf.ThreadPoolExecutor(a.jobs) as ex:
            futs = {ex.submit(judge_group, a, url, g, groups[g], cs): g for g, cs in by_group.items()}
            done = 0
            for f in cf.as_completed(futs):
                g = futs[f]
                rows = f.result()
                done += 1
                dis = 0
                for c, o, acc, why, oruns in rows:
                    ov = "accept" if o == "OK" else "refuse"
                    sv = "accept" if acc else "refuse"
                    r = {"case": c["case"], "class": c["class"], "group": c["group"], "digest": c["digest"],
                         "oracle": ov, "oracle_reason": o, "sigbundle": sv, "sigbundle_reason": why,
                         "agree": "yes" if ov == sv else "no", "description": c["description"], "oracle_runs": oruns}
                    if variable(r):
                        r["agree"] = "variable"
                    dis += r["agree"] == "no"
                    results.append(r)
                print(f"[{time.time() - t0:6.0f}s] {done}/{len(futs)} {g}: {len(rows)} cases, {dis} disagreements",
                      file=sys.stderr)
    finally:
        srv.shutdown()
    results.sort(key=lambda r: r["case"])
    cols = ["case", "class", "group", "oracle", "sigbundle", "agree", "oracle_reason", "sigbundle_reason", "digest",
            "description", "oracle_runs"]
    with open(os.path.join(a.out, "results.tsv"), "w", encoding="utf-8") as f:
        f.write("\t".join(cols) + "\n")
        for r in results:
            f.write("\t".join(one_line(str(r[k]), 1000) for k in cols) + "\n")
    print(summarize(results, a.examples))
    print(f"\nresults: {os.path.join(a.out, 'results.tsv')} ({len(results)} cases, {time.time() - t0:.0f}s); "
          f"store of case X: {os.path.join(os.path.abspath(a.out), 'stores', '<group>', 'sha256=<hex>')}")


if __name__ == "__main__":
    main()
