"""The reference issue 14 measures the app at 10,000 items against: the same ui/dist opened as a
web page in Debian's Chromium (through chromedriver, on the same private display), with the Rust
side's answers recorded from the real app at that moment and replayed by reference/backend.js.
What differs from the app is the engine (Blink instead of WebKitGTK) and the IPC (none): the
page, its data and the work it does on them are the same."""

import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from webdriver import Session

HERE = os.path.dirname(os.path.abspath(__file__))
DIST = os.path.join(HERE, "..", "..", "ui", "dist")
BACKEND = os.path.join(HERE, "reference", "backend.js")

# What the UI asks the Rust side for while it opens on a queue, with the arguments it passes
# (the queue twice: its first screen, then all of it; ui/src/useDesk.ts).
RECORDED = [
    ("session_info", None),
    ("queue_snapshot", {"limit": 100}),
    ("queue_snapshot", {"limit": None}),
    ("get_settings", None),
    ("list_profiles", None),
    ("policy_drafts", None),
    ("open_at_login", {"enable": None}),
]

# Keys as reference/backend.js looks them up: the command, a space, its arguments as JSON.
RECORD = """
const [calls, done] = [arguments[0], arguments[arguments.length - 1]];
const answers = {};
Promise.all(calls.map(([command, args]) =>
  window.__TAURI_INTERNALS__.invoke(command, args ?? undefined).then(
    (answer) => { answers[command + " " + JSON.stringify(args ?? {})] = JSON.stringify(answer); },
    () => {})))
  .then(() => done(answers), (error) => done({error: String(error)}));
"""


def record(session: Session) -> dict:
    """The app's answers, now, to what the UI asks for at start ("command args" -> JSON text)."""
    answers = session.execute_async(RECORD, RECORDED)
    if WHOLE_QUEUE not in answers:
        raise SystemExit(f"could not record the app's answers: {answers}")
    return answers


WHOLE_QUEUE = 'queue_snapshot {"limit":null}'


def queue_size(recorded: dict) -> int:
    return len(json.loads(recorded[WHOLE_QUEUE])["cards"])


class ReferenceServer:
    """ui/dist over loopback HTTP, its index.html loading reference/backend.js first."""

    def __init__(self, recorded: dict):
        with open(os.path.join(DIST, "index.html")) as f:
            index = f.read().replace("<head>", '<head><script src="/reference-backend.js"></script>', 1)
        with open(BACKEND, "rb") as f:
            backend = f.read()
        where = {key: f"/answers/{n}" for n, key in enumerate(recorded)}
        pages = {"/": index.encode(), "/index.html": index.encode(), "/reference-backend.js": backend,
                 "/recorded.json": json.dumps(where).encode()}
        pages.update({where[key]: answer.encode() for key, answer in recorded.items()})

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=DIST, **kwargs)

            def do_GET(self):
                page = pages.get(self.path.split("?")[0])
                if page is None:
                    return super().do_GET()
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript" if self.path.endswith(".js") else
                                 "text/html" if self.path.startswith("/index") or self.path == "/" else
                                 "application/json")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Chromium:
    """Chromium driven by chromedriver, in a window of the app's size, on this display."""

    def __init__(self, url: str, width: int, height: int):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.profile = tempfile.mkdtemp(prefix="cs-bench-chromium-")
        self.driver = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        options = {"binary": shutil.which("chromium") or "/usr/bin/chromium",
                   "args": [f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                            "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--no-sandbox", "--password-store=basic"]}
        self.session = Session(f"http://127.0.0.1:{port}", None,
                               browser={"browserName": "chrome", "goog:chromeOptions": options})
        self.session.go(url)

    def pids(self) -> list:
        """Every process of the browser: the processes under chromedriver."""
        found, frontier = [], [self.driver.pid]
        while frontier:
            children = subprocess.run(["pgrep", "-P", str(frontier.pop())], capture_output=True,
                                      text=True).stdout.split()
            found += [int(c) for c in children]
            frontier += children
        return found

    def close(self):
        self.session.quit()
        self.driver.terminate()
        try:
            self.driver.wait(10)
        except subprocess.TimeoutExpired:
            self.driver.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
        time.sleep(0.5)
