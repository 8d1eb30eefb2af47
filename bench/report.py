#!/usr/bin/python3
"""Render the bench suite's figures (a TSV written by bench/run.sh) as one
table on stdout, bench.md and bench.json.

  report.py RESULTS.tsv OUTDIR SECS REPEAT SMOKE SRV_CPU CLI_CPU ELAPSED

Each TSV line: id, label, unit, better (higher|lower), ustack runs, kernel
runs (space-separated numbers, "-" for a run that produced nothing, "n/a"
for a figure the kernel has no counterpart for), note."""
import datetime
import json
import os
import platform
import statistics
import sys


def parse_runs(text):
    runs, failed, na = [], 0, False
    for t in text.split():
        if t == "n/a":
            na = True
        elif t == "-":
            failed += 1
        else:
            try:
                runs.append(float(t))
            except ValueError:
                failed += 1
    return runs, failed, na


def side(text):
    runs, failed, na = parse_runs(text)
    med = statistics.median(runs) if runs else None
    return {"median": med, "runs": runs, "failed_runs": failed,
            "not_applicable": na}


def fmt(v):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "{:.0f}".format(v)
    if a >= 10:
        return "{:.1f}".format(v)
    return "{:.2f}".format(v)


def main():
    res, outdir, secs, repeat, smoke, srv, cli, elapsed = sys.argv[1:9]
    figs = []
    for line in open(res):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 7:
            continue
        fid, label, unit, better, us, ks, note = parts[:7]
        u, k = side(us), side(ks)
        ratio = None
        if u["median"] is not None and k["median"]:
            ratio = u["median"] / k["median"]
        figs.append({"id": fid, "label": label, "unit": unit,
                     "better": better, "ustack": u, "kernel": k,
                     "ratio": ratio, "note": note})
    meta = {
        "generated": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": platform.node(), "kernel": platform.release(),
        "cpus": os.cpu_count(), "seconds_per_run": float(secs),
        "repeat": int(repeat), "smoke": smoke == "1",
        "server_cpu": int(srv), "client_cpu": int(cli),
        "elapsed_seconds": int(elapsed),
        # Other work on the machine moves every figure: say how much.
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    head = ("| figure | unit | ustack | Linux kernel | ustack/kernel "
            "| better | runs (ustack; kernel) | how |")
    rows = [head, "|---|---|---|---|---|---|---|---|"]
    for f in figs:
        u, k = f["ustack"], f["kernel"]
        kv = "n/a" if k["not_applicable"] else fmt(k["median"])
        r = "-" if f["ratio"] is None else "{:.2f}".format(f["ratio"])
        runs = "{}; {}".format(
            " ".join(fmt(x) for x in u["runs"]) or "-",
            "n/a" if k["not_applicable"]
            else (" ".join(fmt(x) for x in k["runs"]) or "-"))
        if u["failed_runs"] or k["failed_runs"]:
            runs += " ({} failed)".format(u["failed_runs"] + k["failed_runs"])
        rows.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            f["label"], f["unit"], fmt(u["median"]), kv, r, f["better"],
            runs, f["note"]))
    title = ("ustack vs the Linux kernel: {} s per run, median of {} run(s), "
             "stack under test on CPU {}, load/peer on CPU {}{}".format(
                 secs, repeat, srv, cli, " (SMOKE)" if smoke == "1" else ""))
    md = ("# {}\n\n{}, {} ({} CPUs, kernel {}); suite took {} s; load "
          "average at the end {}.\n\n{}\n").format(
              title, meta["generated"], meta["host"], meta["cpus"],
              meta["kernel"], elapsed,
              " ".join(str(x) for x in meta["loadavg_at_end"]),
              "\n".join(rows))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "bench.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(outdir, "bench.json"), "w") as fh:
        json.dump({"meta": meta, "figures": figs}, fh, indent=1)
        fh.write("\n")
    print(title)
    print("\n".join(rows))
    print("written: {}/bench.md, {}/bench.json".format(outdir, outdir))


if __name__ == "__main__":
    main()
