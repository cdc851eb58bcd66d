"""Benchmark: the real app with 10,000 pending approvals (issue 14's queue scale), on the
release app, the release gateway binary and tauri-driver in tests/e2e/run.sh's private display,
beside its reference: the same ui/dist as a web page in Chromium, on the Rust side's answers
recorded from the app at that moment (browser_reference.py).

* Time to a usable first screen: the window reloaded while its desk holds 10,000 items, from
  the page's navigation start (the engine's own clock) to the first card drawn. The page boots,
  asks for the queue's first screen, then for all of it (about 17 MB over the IPC).
* Scrolling: the list scrolled by 400 px every frame for 240 frames; frames that took over
  25 ms (a frame and a half at 60 Hz) are dropped frames. Software rendering under Xvfb.
* Memory: resident (and proportional) memory of all the processes, the app's with WebKit's web
  and network processes, at rest with 10,000 items, against the same at rest with none.

COUNTERSIGN_BENCH_PENDING changes the 10,000 (for a quicker look). Prints the figures and
writes target/bench-results/queue.json."""

import concurrent.futures
import os
import subprocess
import tempfile
import time

from bench_notify import app_pids, figure, pss_kib, rss_kib, write_results
from browser_reference import Chromium, ReferenceServer, queue_size, record
from gateway import BENCH_AGENTS, REVIEWER_KEY, Gateway
from webdriver import Session

PENDING = int(os.environ.get("COUNTERSIGN_BENCH_PENDING", "10000"))
SCROLL_FRAMES = 240
DROPPED_MS = 25

FIRST_CARD = """return {card: !!document.querySelector('[data-testid="approval-card"]'),
                 count: (document.querySelector('.queue-count') || {}).textContent || '',
                 loading: !!document.querySelector('[data-testid="queue-loading"]'),
                 at: performance.now()};"""

# `step` is how far each frame scrolls: 0 measures the webview's frame rate at rest (under Xvfb
# WebKitGTK paints without vsync, so this is the floor any scrolling figure sits on).
FRAMES = """
const [step, count] = arguments;
const list = document.querySelector('[data-testid="queue-scroll"]');
window.__frames = []; window.__scrolled = false;
let last = performance.now(), n = 0;
function frame(now) {
  window.__frames.push(now - last); last = now;
  list.scrollTop += step;
  if (++n < count) requestAnimationFrame(frame); else window.__scrolled = true;
}
requestAnimationFrame(frame);
return list.scrollHeight;
"""


def fill(gateway: Gateway, count: int):
    agents = list(BENCH_AGENTS.items())

    def one(n: int):
        name, key = agents[n % len(agents)]
        gateway.submit("customer.notify", f"Notify customer {n}", risk_tags=["network"],
                       context={"title": f"Queue item {n}", "customer": f"c-{n}"}, principal=name, key=key)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def open_app(bin_dir: str, gateway: Gateway) -> tuple:
    data = tempfile.mkdtemp(prefix="cs-bench-queue-")
    env = dict(os.environ, COUNTERSIGN_DATA_DIR=data)
    subprocess.run([os.path.join(bin_dir, "countersign-cli"), "--profile", "work", "login", "--gateway",
                    gateway.url, "--tenant", "default", "--api-key-stdin", "--default"],
                   input=REVIEWER_KEY + "\n", env=env, check=True, capture_output=True, text=True)
    session = Session(os.environ["COUNTERSIGN_WEBDRIVER"], os.environ["COUNTERSIGN_APP"], args=["--data-dir", data])
    return session, data


def app_pid(data: str) -> int:
    """The app process started for `data` (tauri-driver starts it; we find it by its arguments)."""
    found = subprocess.run(["pgrep", "-f", "--", f"--data-dir {data}"], capture_output=True, text=True).stdout.split()
    return int(found[0]) if found else 0


def wait(session: Session, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = session.execute(FIRST_CARD)
        if predicate(state):
            return state
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; the window showed {state}")
        time.sleep(0.01)


def frames_of(session: Session, step: int, count: int) -> list:
    """The intervals between `count` animation frames, scrolling the list `step` px each."""
    session.execute(FRAMES, step, count)
    deadline = time.monotonic() + 120
    while not session.execute("return window.__scrolled;") and time.monotonic() < deadline:
        time.sleep(0.2)
    return sorted(session.execute("return window.__frames;")[1:])  # the first waited for rAF


def memory_of(pids: list) -> tuple:
    """(resident, proportional) memory of these processes together, in KiB."""
    return sum(rss_kib(pid) for pid in pids), sum(pss_kib(pid) for pid in pids)


def full(state: dict) -> bool:
    """All of the queue is in the page (the first screen comes first, the rest after)."""
    return state["count"].replace(",", "").strip() == str(PENDING) and not state["loading"]


def measure_window(session: Session, pids, artifacts: str, name: str) -> dict:
    """One window holding the 10,000: memory at rest, five reloads to the first card, frames at
    rest and while scrolling, memory after. `pids()` names the processes to count."""
    time.sleep(5)  # let the webview finish what the last change started
    at_rest = memory_of(pids())
    firsts = []
    for _ in range(5):
        session.execute("location.reload(); return true;")
        time.sleep(0.05)
        firsts.append(wait(session, lambda s: s["card"], 60)["at"])
        wait(session, full, 60)
    firsts.sort()
    idle = frames_of(session, 0, 60)
    frames = frames_of(session, 400, SCROLL_FRAMES)
    subprocess.run(["import", "-window", "root", os.path.join(artifacts, f"bench-queue-{name}.png")], check=False)
    return {"firsts": firsts, "idle": idle, "frames": frames, "at_rest": at_rest, "after_scroll": memory_of(pids())}


def window_figures(found: dict, at_rest_empty: tuple, where: str, targets: bool) -> list:
    """The figures of one window; `targets`: the app's, beside the issue's limits."""
    frames, idle = found["frames"], found["idle"]
    dropped = sum(1 for f in frames if f > DROPPED_MS)
    def median(values):
        return values[len(values) // 2] if values else 0

    def limit(value):
        return value if targets else None

    def mib(kib):
        return kib / 1024

    return [
        figure(f"{where}reload to the first card drawn, {PENDING:,} pending, median of 5", found["firsts"][2], "ms",
               limit(300)),
        figure(f"{where}animation frame at rest (the engine's own rate under Xvfb), median", median(idle), "ms"),
        figure(f"{where}scrolling {SCROLL_FRAMES} frames: median frame", median(frames), "ms", limit(16.7)),
        figure(f"{where}scrolling: frames over {DROPPED_MS} ms (dropped)", dropped, "frames", limit(0)),
        figure(f"{where}memory at rest, empty queue: all processes, resident", mib(at_rest_empty[0]), "MiB", limit(150)),
        figure(f"{where}memory at rest, empty queue: all processes, proportional (PSS)", mib(at_rest_empty[1]), "MiB"),
        figure(f"{where}memory at rest, {PENDING:,} pending: all processes, resident", mib(found["at_rest"][0]), "MiB",
               limit(150)),
        figure(f"{where}memory at rest, {PENDING:,} pending: all processes, proportional (PSS)",
               mib(found["at_rest"][1]), "MiB"),
        figure(f"{where}memory after scrolling, {PENDING:,} pending: all processes, resident",
               mib(found["after_scroll"][0]), "MiB", limit(150)),
    ]


def print_window(label: str, found: dict, at_rest_empty: tuple):
    frames = found["frames"]
    dropped = sum(1 for f in frames if f > DROPPED_MS)
    print(f"{label}: reload to the first card, 5 runs: {', '.join(f'{t:.0f}' for t in found['firsts'])} ms; "
          f"frames at rest: median {found['idle'][len(found['idle']) // 2]:.1f} ms; scrolling {len(frames)} "
          f"frames: median {frames[len(frames) // 2]:.1f} ms, {dropped} over {DROPPED_MS} ms")
    for what, (rss, pss) in (("empty, at rest", at_rest_empty), (f"{PENDING} items, at rest", found["at_rest"]),
                             (f"{PENDING} items, after scrolling", found["after_scroll"])):
        print(f"{label}: memory, {what}: {rss / 1024:.0f} MiB resident, {pss / 1024:.0f} MiB proportional")


def in_chromium(recorded: dict, artifacts: str, width: int, height: int, name: str, measure: bool):
    """The reference: ui/dist in Chromium on these recorded answers. Memory at rest once the
    queue shows; with `measure`, the whole window's figures too."""
    server = ReferenceServer(recorded)
    browser = Chromium(server.url, width, height)
    try:
        expected = queue_size(recorded)
        wait(browser.session, lambda s: s["count"].replace(",", "").strip() == str(expected) and not s["loading"], 120)
        if not measure:
            time.sleep(5)
            return memory_of(browser.pids())
        return measure_window(browser.session, browser.pids, artifacts, name)
    finally:
        browser.close()
        server.close()


def main():
    bin_dir, artifacts = os.environ["COUNTERSIGN_BIN_DIR"], os.environ["COUNTERSIGN_E2E_ARTIFACTS"]
    gateway = Gateway(bin_dir, artifacts)
    try:
        empty, data = open_app(bin_dir, gateway)
        try:
            wait(empty, lambda s: s["count"].strip() == "0", 60)
            time.sleep(5)
            app_empty = memory_of(app_pids(app_pid(data)))
            recorded_empty = record(empty)
            size = empty.execute("return [window.innerWidth, window.innerHeight];")
        finally:
            empty.quit()

        started = time.monotonic()
        fill(gateway, PENDING)
        filled_s = time.monotonic() - started
        session, data = open_app(bin_dir, gateway)
        try:
            started = time.monotonic()
            wait(session, full, 600)
            all_in_s = time.monotonic() - started
            pid = app_pid(data)
            app_own = rss_kib(pid)
            app = measure_window(session, lambda: app_pids(pid), artifacts, "app")
            recorded_full = record(session)
        finally:
            session.quit()
    finally:
        gateway.close()

    width, height = size
    browser_empty = in_chromium(recorded_empty, artifacts, width, height, "chromium-empty", False)
    browser = in_chromium(recorded_full, artifacts, width, height, "chromium", True)

    print(f"{PENDING} pending submitted in {filled_s:.1f} s; the app showed all of them "
          f"{all_in_s:.1f} s after it was opened; the app process alone {app_own / 1024:.0f} MiB")
    print_window("app", app, app_empty)
    print_window("chromium", browser, browser_empty)
    figures = [figure(f"opening the app to all {PENDING:,} listed (watch, content, cards)", all_in_s * 1000, "ms"),
               figure(f"memory at rest, {PENDING:,} pending: the app process", app_own / 1024, "MiB")]
    figures += window_figures(app, app_empty, "", True)
    figures += window_figures(browser, browser_empty, "reference, ui/dist in Chromium: ", False)
    write_results(artifacts, "queue", "The app at 10,000 pending (release), and its reference", figures)


if __name__ == "__main__":
    main()
