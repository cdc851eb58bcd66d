"""The real app opens its window, and with no profile the UI (through real IPC calls to the Rust
side, past the capability check and the CSP) offers to connect or to try the demo."""

import os
import subprocess
import tempfile
import unittest

from webdriver import Session


class AppShell(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.artifacts = os.environ["COUNTERSIGN_E2E_ARTIFACTS"]
        data = tempfile.mkdtemp(prefix="cs-e2e-shell-")
        cls.session = Session(os.environ["COUNTERSIGN_WEBDRIVER"], os.environ["COUNTERSIGN_APP"],
                              args=["--data-dir", data])

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["import", "-window", "root", os.path.join(cls.artifacts, "app-shell.png")], check=False)
        cls.session.quit()

    def test_native_window_is_mapped_with_the_product_title(self):
        # Read from the X server, not the webview: proves a real top-level window exists.
        tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True).stdout
        self.assertIn('"Countersign"', tree)

    def test_first_run_offers_to_connect_or_try_the_demo(self):
        title = self.session.wait_for_text('[data-testid="app-title"]', lambda text: text != "")
        self.assertEqual(title, "Countersign")
        # The first-run screen shows only once `session_info` answered "no profile" over IPC.
        self.session.wait_for('[data-testid="first-run"]')
        self.assertEqual(self.session.text(self.session.find('[data-testid="try-demo"]')), "Try the demo")
        self.assertEqual(self.session.find_all('[data-testid="approval-card"]'), [])


if __name__ == "__main__":
    unittest.main()
