"""Benchmark: a submitted require_human job to its desktop notification, on the real app, the
real gateway binary and a real notification server (dunst), over loopback with the event
feed; and the app's cold start to a shown window. Run by scripts/bench-app.sh inside
tests/e2e/run.sh's private display and session bus; prints what BENCHMARKS.md records.

The time of a notification is when the session bus delivered the app's Notify call to
dbus-monitor (its `time=` stamp, the same wall clock as the submit's).

Both of the client's ways of hearing about new items are measured against the same gateway in
the same run: the event feed, and polling (Cordum's own API has no feed), for which a second app
talks to the gateway through a proxy that answers the feed's path with 404, as Cordum does."""

import http.client
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

from gateway import BENCH_AGENTS, REVIEWER_KEY, Gateway

ITEMS = 50
# Over 3 arrivals in 2 s collapse into one summary, and over 10 from one submitter in 5
# minutes into one notice: spaced and spread so that each item gets its own notification.
SPACING_S = 0.7
# A poll (every 2 s) delivers everything submitted since the last one: at most 2 per poll.
POLLED_ITEMS = 30
POLLED_SPACING_S = 1.6
COLD_STARTS = 5


class NoEventFeed:
    """A loopback HTTP proxy to the gateway that answers the event feed's path with 404, so the
    app behind it polls, as it does against Cordum itself."""

    FEED = "/api/v1/approvals/events"
    HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

    def __init__(self, upstream_port: int):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def forward(self):
                if self.path.split("?")[0] == proxy.FEED:
                    self.answer(404, [("Content-Type", "application/json")], b'{"error":"not found"}')
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in proxy.HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    self.answer(answer.status, answer.getheaders(), answer.read())
                finally:
                    upstream.close()

            def answer(self, status, headers, body):
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in proxy.HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


class NotifyWatch:
    """The Notify calls on the session bus, by summary, with the bus's timestamp."""

    HEADER = re.compile(r"^method call time=(\d+\.\d+) .*member=Notify")
    STRING = re.compile(r'^\s+string "(.*)"$')

    def __init__(self):
        self.seen = {}
        self.raw = []
        self.process = subprocess.Popen(
            ["dbus-monitor", "--session", "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.5)  # the monitor's match rule is in place

    def _read(self):
        stamp, strings = None, []
        for line in self.process.stdout:
            self.raw = (self.raw + [line])[-40:]
            header = self.HEADER.match(line)
            if header:
                stamp, strings = float(header.group(1)), []
                continue
            string = self.STRING.match(line)
            if stamp is not None and string:
                strings.append(string.group(1))
                if len(strings) == 3:  # app name, icon, summary
                    self.seen.setdefault(strings[2], stamp)
                    stamp = None

    def wait(self, summary: str, timeout: float):
        deadline = time.monotonic() + timeout
        while summary not in self.seen and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.seen.get(summary)

    def close(self):
        self.process.terminate()


def proc_kib(pid: int, file: str, field: str) -> int:
    """A `field:` line in KiB of /proc/<pid>/<file>; 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/{file}") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return 0


def rss_kib(pid: int) -> int:
    return proc_kib(pid, "status", "VmRSS")


def pss_kib(pid: int) -> int:
    """Proportional resident memory: pages shared between processes counted once overall."""
    return proc_kib(pid, "smaps_rollup", "Pss")


def app_pids(pid: int) -> list:
    """The app's process and its children (WebKit's web and network processes)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [int(child) for child in children]


def memory_kib(pid: int) -> tuple:
    """The resident memory of the app's own process, and of it with its children."""
    return rss_kib(pid), sum(rss_kib(p) for p in app_pids(pid))


def window_shown() -> bool:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Countersign$"],
                           capture_output=True, text=True)
    return found.returncode == 0


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def submit(gateway, title: str, agent: str, key: str):
    gateway.submit("customer.notify", f"Do {title}", risk_tags=["network"], context={"title": title},
                   principal=agent, key=key)


def measure(app: str, bin_dir: str, gateway, login_url: str, watch, label: str, items: int, spacing: float):
    """Runs one app signed in at `login_url` and times `items` submissions `spacing` s apart.
    Returns the latencies in ms, the titles never notified, and the app's memory."""
    data = tempfile.mkdtemp(prefix="cs-bench-")
    env = dict(os.environ, COUNTERSIGN_DATA_DIR=data)
    subprocess.run([os.path.join(bin_dir, "countersign-cli"), "--profile", "work", "login", "--gateway", login_url,
                    "--tenant", "default", "--api-key-stdin", "--default"], input=REVIEWER_KEY + "\n", env=env,
                   check=True, capture_output=True, text=True)
    process = subprocess.Popen([app, "--data-dir", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        agents = list(BENCH_AGENTS.items())
        # Items pending before the app's first listing join its queue silently (they are not
        # news): warm-up items go in until one is raised, which says the watch is live.
        for attempt in range(20):
            name, key = agents[attempt % len(agents)]
            submit(gateway, f"{label} warm-up {attempt}", name, key)
            if watch.wait(f"Approval: {label} warm-up {attempt}", 5) is not None:
                break
        else:
            raise SystemExit(f"{label}: the app raised no notification for 20 warm-up items; the bus showed:\n"
                             + "".join(watch.raw[-40:]))
        time.sleep(2.5)  # out of the burst window
        submitted = {}
        for n in range(items):
            name, key = agents[n % len(agents)]
            title = f"{label} item {n}"
            submitted[title] = time.time()
            submit(gateway, title, name, key)
            time.sleep(spacing)
        latencies, missing = [], []
        for title, start in submitted.items():
            shown = watch.wait(f"Approval: {title}", 10)
            if shown is None:
                missing.append(title)
            else:
                latencies.append((shown - start) * 1000)
        memory = memory_kib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log = os.path.join(data, "logs", "countersign.log")
        if os.path.exists(log):
            shutil.copyfile(log, os.path.join(os.environ["COUNTERSIGN_E2E_ARTIFACTS"], f"bench-{label}.log"))
    return latencies, missing, memory


def report(label: str, items: int, spacing: float, latencies, missing):
    print(f"submit -> notification, {label}: {len(latencies)} of {items} items, {spacing} s apart:")
    if latencies:
        print(f"  p50 {statistics.median(latencies):.1f} ms   p90 {percentile(latencies, 0.9):.1f} ms   "
              f"p99 {percentile(latencies, 0.99):.1f} ms   max {max(latencies):.1f} ms")
    if missing:
        print(f"  never notified: {', '.join(missing)}")


def notifications(app: str, bin_dir: str, artifacts: str) -> list:
    # One gateway binary and configuration for both, each run on its own empty database: an
    # app opened on a queue the other run left behind measures something else.
    watch = NotifyWatch()
    try:
        gateway = Gateway(bin_dir, artifacts)
        try:
            feed = measure(app, bin_dir, gateway, gateway.url, watch, "Feed", ITEMS, SPACING_S)
        finally:
            gateway.close()
        gateway = Gateway(bin_dir, artifacts)
        proxy = NoEventFeed(gateway.port)
        try:
            polled = measure(app, bin_dir, gateway, proxy.url, watch, "Polled", POLLED_ITEMS, POLLED_SPACING_S)
        finally:
            proxy.close()
            gateway.close()
    finally:
        watch.close()
    report("event feed", ITEMS, SPACING_S, feed[0], feed[1])
    report("polling every 2 s (no event feed)", POLLED_ITEMS, POLLED_SPACING_S, polled[0], polled[1])
    own, total = feed[2]
    print(f"  resident memory after the run: the app {own / 1024:.0f} MiB, with its webview processes "
          f"{total / 1024:.0f} MiB")
    if not feed[0] or not polled[0]:
        raise SystemExit("no item was notified")
    return [
        figure("items never notified (event feed and polling)", len(feed[1]) + len(polled[1]), "items", 0),
        figure("submit → notification, event feed, median", statistics.median(feed[0]), "ms"),
        figure("submit → notification, event feed, p99", percentile(feed[0], 0.99), "ms", 100),
        figure("submit → notification, polling, median", statistics.median(polled[0]), "ms"),
        figure("submit → notification, polling, p99", percentile(polled[0], 0.99), "ms", 2100),
        figure("resident memory after the run: the app process", own / 1024, "MiB"),
        figure("… with WebKit's web and network processes", total / 1024, "MiB"),
    ]


def write_results(artifacts: str, bench: str, title: str, figures: list):
    """What scripts/bench-report.py reads: target/bench-results/<bench>.json."""
    path = os.path.join(artifacts, "..", "bench-results", f"{bench}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"bench": bench, "title": title, "command": "scripts/bench-app.sh", "figures": figures}, f, indent=2)


def figure(name: str, value: float, unit: str, limit=None) -> dict:
    """One row of the report; `limit` is the target's upper bound, in `unit`."""
    row = {"name": name, "value": round(value, 1), "unit": unit}
    if limit is not None:
        row["max"] = limit
    return row


def cold_starts(app: str):
    times = []
    for _ in range(COLD_STARTS):
        data = tempfile.mkdtemp(prefix="cs-bench-cold-")
        start = time.monotonic()
        process = subprocess.Popen([app, "--demo", "--data-dir", data], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            while not window_shown():
                if time.monotonic() - start > 60:
                    raise SystemExit("the window never showed")
                time.sleep(0.01)
            times.append((time.monotonic() - start) * 1000)
        finally:
            process.terminate()
            process.wait(timeout=20)
        time.sleep(0.5)
    print(f"cold start to a shown window (--demo), {COLD_STARTS} runs: median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms")
    return [figure(f"cold start of the release app to a shown window, median of {COLD_STARTS}",
                   statistics.median(times), "ms", 1000)]


def main():
    app, artifacts = os.environ["COUNTERSIGN_APP"], os.environ["COUNTERSIGN_E2E_ARTIFACTS"]
    figures = notifications(app, os.environ["COUNTERSIGN_BIN_DIR"], artifacts) + cold_starts(app)
    write_results(artifacts, "notify", "Time to notify, cold start, memory (release app)", figures)

if __name__ == "__main__":
    main()
