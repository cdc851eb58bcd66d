"""Benchmark: a submitted require_human job to its desktop notification, on the real app, the
real gateway binary and a real notification server (dunst), over loopback with the event
feed; and the app's cold start to a shown window. Run by scripts/bench-notify.sh inside
tests/e2e/run.sh's private display and session bus; prints what BENCHMARKS.md records.

The time of a notification is when the session bus delivered the app's Notify call to
dbus-monitor (its `time=` stamp, the same wall clock as the submit's)."""

import os
import re
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
COLD_STARTS = 5


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


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def memory_kib(pid: int) -> tuple:
    """The resident memory of the app's own process, and of it with its children (the webview
    runs in WebKit's web and network processes)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    own = rss_kib(pid)
    return own, own + sum(rss_kib(int(child)) for child in children)


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


def notifications(app: str, bin_dir: str, artifacts: str):
    gateway = Gateway(bin_dir, artifacts)
    data = tempfile.mkdtemp(prefix="cs-bench-")
    env = dict(os.environ, COUNTERSIGN_DATA_DIR=data)
    subprocess.run([os.path.join(bin_dir, "countersign-cli"), "--profile", "work", "login", "--gateway", gateway.url,
                    "--tenant", "default", "--api-key-stdin", "--default"], input=REVIEWER_KEY + "\n", env=env,
                   check=True, capture_output=True, text=True)
    watch = NotifyWatch()
    process = subprocess.Popen([app, "--data-dir", data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        agents = list(BENCH_AGENTS.items())
        # Items pending before the app's first listing join its queue silently (they are not
        # news): warm-up items go in until one is raised, which says the watch is live.
        for attempt in range(20):
            name, key = agents[attempt % len(agents)]
            submit(gateway, f"Warm-up {attempt}", name, key)
            if watch.wait(f"Approval: Warm-up {attempt}", 3) is not None:
                break
        else:
            raise SystemExit("the app raised no notification for 20 warm-up items; the bus showed:\n"
                             + "".join(watch.raw[-40:]))
        time.sleep(2.5)  # out of the burst window
        submitted = {}
        for n in range(ITEMS):
            name, key = agents[n % len(agents)]
            title = f"Bench item {n}"
            submitted[title] = time.time()
            submit(gateway, title, name, key)
            time.sleep(SPACING_S)
        latencies, missing = [], []
        for title, start in submitted.items():
            shown = watch.wait(f"Approval: {title}", 10)
            if shown is None:
                missing.append(title)
            else:
                latencies.append((shown - start) * 1000)
        own, total = memory_kib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=20)
        watch.close()
        gateway.close()
    print(f"submit -> notification, {len(latencies)} of {ITEMS} items, {SPACING_S} s apart:")
    if latencies:
        print(f"  p50 {statistics.median(latencies):.1f} ms   p90 {percentile(latencies, 0.9):.1f} ms   "
              f"p99 {percentile(latencies, 0.99):.1f} ms   max {max(latencies):.1f} ms")
    if missing:
        print(f"  never notified: {', '.join(missing)}")
    print(f"  resident memory after the run: the app {own / 1024:.0f} MiB, with its webview processes "
          f"{total / 1024:.0f} MiB")


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


def main():
    app = os.environ["COUNTERSIGN_APP"]
    notifications(app, os.environ["COUNTERSIGN_BIN_DIR"], os.environ["COUNTERSIGN_E2E_ARTIFACTS"])
    cold_starts(app)


if __name__ == "__main__":
    main()
