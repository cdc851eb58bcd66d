#!/usr/bin/env python3
"""Writes the figures of the last `make bench` into BENCHMARKS.md, between its
`bench-report` markers: the machine, the date, the commit, and every figure beside its target.

It reads only what the benches wrote themselves: criterion's estimates and samples under
target/criterion, and the JSON files the other benches leave in target/bench-results
(`{"bench", "title", "command", "figures": [{"name", "value", "unit", "max"?}]}`).
A bench that did not run shows as missing; nothing is carried over from an earlier run.
Usage: scripts/bench-report.py [--check]   (--check: print, leave BENCHMARKS.md alone)"""

import datetime
import glob
import json
import math
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BEGIN, END = "<!-- bench-report:begin -->", "<!-- bench-report:end -->"

# (section, measure, criterion full id, upper bound in ms or None)
CRITERION = [
    ("Hash", "job_hash, 1 MB request", "job_hash_1MB/job_hash", None),
    ("Hash", "bare SHA-256 of the same bytes, 1 MB", "job_hash_1MB/bare_sha256", None),
    ("Ledger", "append one entry, its own transaction", "append one entry (its own transaction)", None),
    ("Ledger", "verify 1,000,000 entries", "verify/the whole chain of 1,000,000 entries", 2000),
    ("Ledger", "search 100,000 entries, free text", "search over 100,000 entries/free text", 50),
    ("Ledger", "search 100,000 entries, topic and decision", "search over 100,000 entries/topic and decision", 50),
    ("Decide", "bare approve call, 10 KB request", "approve/bare call/10 KB", None),
    ("Decide", "verified approve, 10 KB request", "approve/verified/10 KB", None),
    ("Decide", "bare approve call, 1 MB request", "approve/bare call/1 MB", None),
    ("Decide", "verified approve, 1 MB request", "approve/verified/1 MB", None),
]

# (section, measure, numerator id, denominator id, upper bound)
RATIOS = [
    ("Hash", "job_hash / bare SHA-256 at 1 MB", "job_hash_1MB/job_hash", "job_hash_1MB/bare_sha256", 1.25),
    ("Decide", "verified / bare approve at 10 KB", "approve/verified/10 KB", "approve/bare call/10 KB", 1.3),
    ("Decide", "verified / bare approve at 1 MB", "approve/verified/1 MB", "approve/bare call/1 MB", None),
    ("Decide", "hashing's share of a verified approve at 1 MB (job_hash / verified)",
     "job_hash_1MB/job_hash", "approve/verified/1 MB", None),
]


def started() -> float:
    """When this `make bench` began (its stamp); 0 when run by hand without one."""
    try:
        return os.path.getmtime(os.path.join(TARGET, "bench-results", ".started"))
    except OSError:
        return 0.0


def criterion_results() -> dict:
    """Full id -> (median ms, p99 ms) over criterion's samples (each a mean of its iterations)."""
    found = {}
    since = started()
    for meta_path in glob.glob(os.path.join(TARGET, "criterion", "**", "new", "benchmark.json"), recursive=True):
        folder = os.path.dirname(meta_path)
        try:
            if os.path.getmtime(os.path.join(folder, "sample.json")) < since:
                continue  # from an earlier run
            with open(meta_path) as f:
                full_id = json.load(f)["full_id"]
            with open(os.path.join(folder, "sample.json")) as f:
                sample = json.load(f)
        except (OSError, ValueError, KeyError):
            continue
        per_iteration = sorted(t / i / 1e6 for t, i in zip(sample["times"], sample["iters"]) if i)
        if per_iteration:
            found[full_id] = (statistics.median(per_iteration), quantile(per_iteration, 0.99))
    return found


def quantile(ordered, q):
    """Nearest rank."""
    return ordered[max(1, min(len(ordered), math.ceil(q * len(ordered)))) - 1]


def duration(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms * 1000:.1f} µs"


def number(value: float, unit: str) -> str:
    if unit == "ms":
        return duration(value)
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def verdict(value, limit) -> str:
    if limit is None or value is None:
        return ""
    return "met" if value <= limit else "**missed**"


def rows() -> list:
    table = []
    measured = criterion_results()
    for section, measure, full_id, limit in CRITERION:
        if full_id not in measured:
            table.append((section, measure, "not run", "", "", ""))
            continue
        median, p99 = measured[full_id]
        target = f"≤ {duration(limit)}" if limit else ""
        table.append((section, measure, duration(median), duration(p99), target, verdict(median, limit)))
    for section, measure, top, bottom, limit in RATIOS:
        if top not in measured or bottom not in measured:
            table.append((section, measure, "not run", "", "", ""))
            continue
        ratio = measured[top][0] / measured[bottom][0]
        shown = f"{ratio:.2f}x" if "share" not in measure else f"{ratio:.0%}"
        table.append((section, measure, shown, "", f"≤ {limit}x" if limit else "", verdict(ratio, limit)))
    table += vitest_rows()
    for path in sorted(glob.glob(os.path.join(TARGET, "bench-results", "*.json"))):
        if path.endswith(".vitest.json"):
            continue
        try:
            with open(path) as f:
                report = json.load(f)
            figures = report["figures"]
        except (OSError, ValueError, KeyError) as error:
            table.append((os.path.basename(path), f"unreadable: {error}", "", "", "", ""))
            continue
        for figure in figures:
            unit, limit = figure.get("unit", ""), figure.get("max")
            value = figure.get("value")
            target = f"≤ {number(limit, unit)}" if limit is not None else ""
            table.append((report.get("title", report.get("bench", "?")), figure.get("name", "?"),
                          number(value, unit) if isinstance(value, (int, float)) else str(value), "",
                          target, verdict(value, limit)))
    return table


def vitest_rows() -> list:
    """The UI benches, from vitest's `--outputJson`: mean and p99 of each, in ms."""
    table = []
    for path in sorted(glob.glob(os.path.join(TARGET, "bench-results", "*.vitest.json"))):
        try:
            with open(path) as f:
                files = json.load(f)["files"]
            for group in (g for file in files for g in file["groups"]):
                for result in group["benchmarks"]:
                    # A burst is the first screen's data arriving (300 ms to a usable screen);
                    # anything else happens while the reviewer works, so within a frame.
                    limit = 300 if "burst" in result["name"] else 16
                    table.append(("UI state", f"{group['fullName'].split(' > ')[-1]}: {result['name']}",
                                  duration(result.get("median", result["mean"])), duration(result["p99"]), f"≤ {limit} ms",
                                  verdict(result.get("median", result["mean"]), limit)))
        except (OSError, ValueError, KeyError) as error:
            table.append(("UI state", f"{os.path.basename(path)} unreadable: {error}", "", "", "", ""))
    return table


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}"


def commit() -> str:
    found = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def render() -> str:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        BEGIN,
        "## The last `make bench`",
        "",
        "Written by `scripts/bench-report.py` from the benches' own output; the sections below say how",
        "each is measured and what the figures mean. Criterion figures are the median and p99 of its",
        "samples (each sample the mean of its iterations); the end-to-end figures are over single calls.",
        "",
        f"Machine: {machine()}. Date: {datetime.date.today().isoformat()}. Commit: `{commit()}`. "
        f"Load average when the report was written: {load}. Command: `make bench`.",
        "",
        "| area | measure | median / value | p99 | target | |",
        "|---|---|---:|---:|---:|---|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in rows()]
    lines.append(END)
    return "\n".join(lines)


def main():
    block = render()
    if "--check" in sys.argv:
        print(block)
        return
    path = os.path.join(ROOT, "BENCHMARKS.md")
    with open(path) as f:
        text = f.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        intro, _, body = text.partition("\n## ")
        text = intro + "\n" + block + "\n\n## " + body
    with open(path, "w") as f:
        f.write(text)
    print(block)


if __name__ == "__main__":
    main()
