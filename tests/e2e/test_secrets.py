"""Secrets hygiene (issue 13): after a full session in the real app (the key typed into its
connect form, approve, reject, sign out) the API key is nowhere but where it belongs: not in any file under the app's data
directory (profiles, settings, ledgers and their WAL files, logs), nor in the app's own log,
nor in the app's config and data directories under HOME; and signing out takes it out of the
keychain."""

import base64
import os
import subprocess
import unittest

from gateway import REVIEWER_KEY
from harness import AppCase


def keychain_lookup(username: str) -> str:
    found = subprocess.run(["secret-tool", "lookup", "service", "countersign", "username", username],
                           capture_output=True, text=True)
    return found.stdout.strip()


class SecretsHygiene(AppCase):
    def test_a_full_session_leaves_the_key_only_in_the_keychain_and_sign_out_removes_it(self):
        # Typed into the window, so the webview and its storage handle it too.
        app = self.open_app(login=False)
        app.wait_for('[data-testid="first-run"]')
        for field, value in (("name", "work"), ("gateway_url", self.gateway.url), ("api_key", REVIEWER_KEY)):
            app.fill(app.find(f"#connect-{field}"), value)
        app.click(app.find('.connect-form button[type="submit"]'))
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        self.assertEqual(keychain_lookup("work/api-key"), REVIEWER_KEY)
        approved = self.gateway.submit("customer.notify", "Email Initech", risk_tags=["network"])
        rejected = self.gateway.submit("customer.notify", "Email Umbrella", risk_tags=["network"])
        app.click(self.button(self.card(approved), ".button-approve"))
        self.outcome(approved, lambda t: t.startswith("Approved"))
        app.click(self.button(self.card(rejected), ".button-reject"))
        app.fill(app.wait_for("#reject-reason"), "wrong customer", enter=True)
        self.outcome(rejected, lambda t: t.startswith("Rejected"))
        app.click(app.find('[data-testid="sign-out"]'))
        app.wait_for_text('[data-testid="status-line"]', lambda t: "No profile open" in t)
        self.assertEqual(keychain_lookup("work/api-key"), "", "sign out leaves the key in the keychain")
        app.quit()

        # The key as written, and the forms a careless logger would write it in.
        needles = [REVIEWER_KEY.encode(), REVIEWER_KEY.encode("utf-16-le"),
                   REVIEWER_KEY[: len(REVIEWER_KEY) // 2 + 4].encode(),
                   base64.b64encode(REVIEWER_KEY.encode()).rstrip(b"=")]
        roots = [self.data] + [os.path.join(os.path.expanduser("~"), sub, "dev.countersign.desktop")
                               for sub in (".config", ".local/share", ".cache")]
        scanned, size, found = 0, 0, []
        for root in roots:
            for folder, _, files in os.walk(root):
                for name in files:
                    path = os.path.join(folder, name)
                    with open(path, "rb") as f:
                        content = f.read()
                    scanned += 1
                    size += len(content)
                    found += [path for needle in needles if needle in content]
        print(f"\nRELIABILITY secrets_hygiene files_scanned={scanned} bytes_scanned={size} "
              f"secrets_found={len(found)} keychain_after_sign_out={int(bool(keychain_lookup('work/api-key')))}",
              end=" ")
        self.assertGreater(scanned, 3, "the app wrote its files under the data directory")
        self.assertEqual(found, [])


if __name__ == "__main__":
    unittest.main()
