"""Benchmark: the real app with 10,000 pending approvals (issue 14's queue scale), on the
release app, the release gateway binary and tauri-driver in tests/e2e/run.sh's private display.

* Time to a usable first screen: the app's window reloaded while its desk holds 10,000 items,
  from the page's navigation start (the webview's own clock) to the first card drawn. The page
  boots, asks for the queue snapshot (10,000 cards over IPC: the data arriving) and draws it.
* Scrolling: the list scrolled by 400 px every frame for 240 frames; frames that took over
  25 ms (a frame and a half at 60 Hz) are dropped frames. Software rendering under Xvfb.
* Memory: resident memory of the app and WebKit's web and network processes, at rest with
  10,000 items, against the same app at rest with none.

Prints the figures and writes target/bench-results/queue.json."""

import concurrent.futures
import os
import subprocess
import tempfile
import time

from bench_notify import figure, memory_kib, write_results
from gateway import BENCH_AGENTS, REVIEWER_KEY, Gateway
from webdriver import Session

PENDING = 10_000
SCROLL_FRAMES = 240
DROPPED_MS = 25

FIRST_CARD = """return {card: !!document.querySelector('[data-testid="approval-card"]'),
                 count: (document.querySelector('.queue-count') || {}).textContent || '',
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


def settle_memory(pid: int) -> tuple:
    time.sleep(5)  # let the webview finish what the last change started
    return memory_kib(pid)


def main():
    bin_dir, artifacts = os.environ["COUNTERSIGN_BIN_DIR"], os.environ["COUNTERSIGN_E2E_ARTIFACTS"]
    gateway = Gateway(bin_dir, artifacts)
    try:
        empty, data = open_app(bin_dir, gateway)
        try:
            wait(empty, lambda s: s["count"].strip() == "0", 60)
            at_rest_empty = settle_memory(app_pid(data))
        finally:
            empty.quit()

        started = time.monotonic()
        fill(gateway, PENDING)
        filled_s = time.monotonic() - started
        session, data = open_app(bin_dir, gateway)
        try:
            started = time.monotonic()
            wait(session, lambda s: s["count"].replace(",", "").strip() == str(PENDING), 600)
            all_in_s = time.monotonic() - started
            pid = app_pid(data)
            at_rest_full = settle_memory(pid)

            firsts = []
            for _ in range(5):
                session.execute("location.reload(); return true;")
                time.sleep(0.05)
                state = wait(session, lambda s: s["card"], 60)
                firsts.append(state["at"])
                wait(session, lambda s: s["count"].replace(",", "").strip() == str(PENDING), 60)
            firsts.sort()

            idle = frames_of(session, 0, 60)
            frames = frames_of(session, 400, SCROLL_FRAMES)
            subprocess.run(["import", "-window", "root", os.path.join(artifacts, "bench-queue.png")], check=False)
            after_scroll = memory_kib(pid)
        finally:
            session.quit()
    finally:
        gateway.close()

    dropped = sum(1 for f in frames if f > DROPPED_MS)
    median_frame = frames[len(frames) // 2] if frames else 0
    median_idle = idle[len(idle) // 2] if idle else 0
    print(f"{PENDING} pending submitted in {filled_s:.1f} s; the app showed all of them "
          f"{all_in_s:.1f} s after it was opened")
    print(f"reload to the first card with {PENDING} in the queue, 5 runs: {', '.join(f'{t:.0f}' for t in firsts)} ms")
    print(f"frames at rest: median {median_idle:.1f} ms; scrolling {len(frames)} frames: median "
          f"{median_frame:.1f} ms, {dropped} over {DROPPED_MS} ms")
    for label, (own, total) in (("empty, at rest", at_rest_empty), (f"{PENDING} items, at rest", at_rest_full),
                                (f"{PENDING} items, after scrolling", after_scroll)):
        print(f"memory, {label}: the app {own / 1024:.0f} MiB, with WebKit's processes {total / 1024:.0f} MiB")
    figures = [
        figure(f"reload to the first card drawn, {PENDING:,} pending, median of 5", firsts[2], "ms", 300),
        figure(f"opening the app to all {PENDING:,} listed (watch, content, cards)", all_in_s * 1000, "ms"),
        figure("animation frame at rest (the webview's own rate under Xvfb), median", median_idle, "ms"),
        figure(f"scrolling {SCROLL_FRAMES} frames: median frame", median_frame, "ms", 16.7),
        figure(f"scrolling: frames over {DROPPED_MS} ms (dropped)", dropped, "frames", 0),
        figure("memory at rest, empty queue: all processes", at_rest_empty[1] / 1024, "MiB", 150),
        figure(f"memory at rest, {PENDING:,} pending: the app process", at_rest_full[0] / 1024, "MiB"),
        figure(f"memory at rest, {PENDING:,} pending: all processes", at_rest_full[1] / 1024, "MiB", 150),
        figure(f"memory after scrolling, {PENDING:,} pending: all processes", after_scroll[1] / 1024, "MiB", 150),
    ]
    write_results(artifacts, "queue", "The app at 10,000 pending (release)", figures)

if __name__ == "__main__":
    main()
