"""The app's life on the desktop: one instance per data directory (a second launch brings the
first one's window forward and exits) and opening at login (an XDG autostart entry that
starts the app hidden in the tray on the same data directory)."""

import os
import subprocess
import time
import unittest

from harness import AppCase


class Lifecycle(AppCase):
    def window_shown(self) -> bool:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Countersign$"],
                               capture_output=True, text=True)
        return found.returncode == 0 and bool(found.stdout.strip())

    def test_a_second_launch_brings_the_hidden_window_forward_and_exits(self):
        app = self.open_app("--hidden")
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        self.assertFalse(self.window_shown(), "--hidden starts in the tray")
        second = subprocess.run([os.environ["COUNTERSIGN_APP"], "--data-dir", self.data],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn("already running", second.stderr)
        deadline = time.monotonic() + 10
        while not self.window_shown():
            self.assertLess(time.monotonic(), deadline, "the first window never came forward")
            time.sleep(0.2)
        # Still the one app, still live: the second launch did not take over the profile.
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)

    def test_open_at_login_writes_a_hidden_autostart_entry_for_this_data_directory(self):
        app = self.open_app()
        entry = os.path.join(os.environ["HOME"], ".config", "autostart", "countersign.desktop")
        self.assertFalse(os.path.exists(entry))
        app.click(app.wait_for('[data-testid="settings-tab"]'))
        toggle = app.wait_for('[data-testid="open-at-login"]')
        deadline = time.monotonic() + 10
        while app.attribute(toggle, "disabled") is not None:
            self.assertLess(time.monotonic(), deadline, "the login item was never read")
            time.sleep(0.1)
        self.assertFalse(app.selected(toggle))
        app.click(toggle)
        deadline = time.monotonic() + 10
        while not (os.path.exists(entry) and app.selected(toggle)):
            self.assertLess(time.monotonic(), deadline, "no autostart entry written")
            time.sleep(0.1)
        with open(entry) as f:
            exec_line = next(line for line in f if line.startswith("Exec="))
        self.assertIn(os.environ["COUNTERSIGN_APP"], exec_line)
        self.assertIn(f"--hidden --data-dir {self.data}", exec_line)
        app.click(toggle)
        deadline = time.monotonic() + 10
        while os.path.exists(entry) or app.selected(toggle):
            self.assertLess(time.monotonic(), deadline, "the autostart entry stayed")
            time.sleep(0.1)


if __name__ == "__main__":
    unittest.main()
