"""What every scenario on the real app shares: a real gateway binary on loopback, the real CLI to
make a profile, the real keychain (gnome-keyring on the private session bus), the real webview.
Each scenario opens its own app with its own data directory."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

from gateway import REVIEWER_KEY, Gateway
from webdriver import Session

# A card ignores approve clicks for 500 ms after it, or the list, moved.
SETTLE_S = 0.7


class AppCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.artifacts = os.environ["COUNTERSIGN_E2E_ARTIFACTS"]
        cls.bin_dir = os.environ["COUNTERSIGN_BIN_DIR"]
        cls.gateway = Gateway(cls.bin_dir, cls.artifacts)

    @classmethod
    def tearDownClass(cls):
        cls.gateway.close()

    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="cs-e2e-data-")
        self.gateway.start() if self.gateway.process.poll() is not None else None

    def cli(self, *args, stdin=""):
        env = dict(os.environ, COUNTERSIGN_DATA_DIR=self.data)
        return subprocess.run([os.path.join(self.bin_dir, "countersign-cli"), *args], input=stdin, env=env,
                              capture_output=True, text=True, timeout=60)

    def open_app(self, *args, login=True):
        if login:
            done = self.cli("--profile", "work", "login", "--gateway", self.gateway.url, "--tenant", "default",
                            "--api-key-stdin", "--default", stdin=REVIEWER_KEY + "\n")
            self.assertEqual(done.returncode, 0, done.stderr)
        self.app = Session(os.environ["COUNTERSIGN_WEBDRIVER"], os.environ["COUNTERSIGN_APP"],
                           args=["--data-dir", self.data, *args])
        self.addCleanup(self.keep_app_log)
        self.addCleanup(self.app.quit)
        self.addCleanup(self.shot)
        return self.app

    def shot(self):
        subprocess.run(["import", "-window", "root", os.path.join(self.artifacts, f"{self.name()}.png")],
                       check=False)

    def keep_app_log(self):
        """Keeps the app's own log beside the screenshot: the app's stderr never reaches us
        through WebKitWebDriver."""
        if os.path.exists(self.app_log()):
            shutil.copyfile(self.app_log(), os.path.join(self.artifacts, f"{self.name()}.log"))

    def app_log(self) -> str:
        return os.path.join(getattr(self, "data", ""), "logs", "countersign.log")

    def run(self, result=None):
        """Runs the scenario; when it failed, prints the end of the app's log under it."""
        result = result or self.defaultTestResult()
        failed_before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > failed_before and os.path.exists(self.app_log()):
            with open(self.app_log(), errors="replace") as f:
                tail = f.readlines()[-40:]
            print(f"\n--- the app's log, last {len(tail)} lines ---\n{''.join(tail)}--- end of the app's log ---")
        return result

    def name(self) -> str:
        return self.id().rsplit(".", 1)[-1]

    def card(self, job_id: str, timeout: float = 20.0):
        """The card of `job_id` once its content is loaded (Approve enabled) and it settled."""
        css = f'[data-testid="approval-card"][data-job-id="{job_id}"]'
        card = self.app.wait_for(css, timeout)
        deadline = time.monotonic() + timeout
        while self.app.attribute(self.app.find_in(card, ".button-approve"), "disabled") is not None:
            if time.monotonic() > deadline:
                break  # offline or expired: the test asserts what it expects
            time.sleep(0.1)
            card = self.app.find(css)
        time.sleep(SETTLE_S)
        return card

    def button(self, card, css: str):
        return self.app.find_in(card, css)

    def wait_job(self, job_id: str, predicate, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.gateway.job(job_id)
            if predicate(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} never reached the expected state: {job}")
            time.sleep(0.2)

    def outcome(self, job_id: str, predicate, timeout: float = 30.0) -> str:
        return self.app.wait_for_text(f'[data-job-id="{job_id}"] [data-testid="outcome"]', predicate, timeout)
