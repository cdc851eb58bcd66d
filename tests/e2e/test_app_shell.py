"""The real app opens its window and the UI talks to the Rust side through a real IPC call."""

import os
import subprocess
import unittest

from webdriver import Session


class AppShell(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.artifacts = os.environ["COUNTERSIGN_E2E_ARTIFACTS"]
        cls.session = Session(os.environ["COUNTERSIGN_WEBDRIVER"], os.environ["COUNTERSIGN_APP"])

    @classmethod
    def tearDownClass(cls):
        # The X server's picture, for a person to look at; not an assertion, since the first
        # frame of a fresh WebKit profile can land after the DOM is already complete.
        subprocess.run(["import", "-window", "root", os.path.join(cls.artifacts, "app-shell.png")], check=False)
        cls.session.quit()

    def test_native_window_is_mapped_with_the_product_title(self):
        # Read from the X server, not the webview: proves a real top-level window exists.
        tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=True).stdout
        self.assertIn('"Countersign"', tree)

    def test_ui_shell_renders(self):
        title = self.session.wait_for_text('[data-testid="app-title"]', lambda text: text != "")
        self.assertEqual(title, "Countersign")
        empty = self.session.text(self.session.find('[data-testid="queue-empty"]'))
        self.assertIn("No approvals", empty)
        self.assertEqual(self.session.find_all('[data-testid="approval-card"]'), [])

    def test_status_line_comes_from_the_rust_command(self):
        # "no gateway connected" is written only by AppStatus::unconfigured() in Rust; the UI
        # shows it only if the invoke passed the capability check and CSP.
        status = self.session.wait_for_text('[data-testid="status-line"]', lambda text: "gateway" in text)
        self.assertRegex(status, r"^Countersign \d+\.\d+\.\d+ · no gateway connected$")


if __name__ == "__main__":
    unittest.main()
