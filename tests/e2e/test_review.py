"""The reviewer's loop on the real app (see harness.py for what each scenario runs against)."""

import json
import os
import sqlite3
import subprocess
import time
import unittest

from gateway import REVIEWER_KEY
from harness import AppCase
from webdriver import ELEMENT_KEY

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


class Review(AppCase):
    def test_demo_shows_approvals_arriving(self):
        app = self.open_app("--demo", login=False)
        self.assertEqual(app.wait_for_text('[data-testid="demo-badge"]', bool), "DEMO")
        app.wait_for('[data-testid="approval-card"]', timeout=30)
        status = app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        self.assertIn("demo", status)
        self.assertTrue(os.path.exists(os.path.join(self.data, "ledgers", "demo.sqlite")))

    def test_connect_with_an_api_key_puts_it_in_the_keychain_only(self):
        app = self.open_app(login=False)
        app.wait_for('[data-testid="first-run"]')
        for field, value in (("name", "lab"), ("gateway_url", self.gateway.url), ("api_key", REVIEWER_KEY)):
            app.fill(app.find(f"#connect-{field}"), value)
        app.click(app.find('.connect-form button[type="submit"]'))
        app.wait_for('[data-testid="queue"]')
        found = subprocess.run(["secret-tool", "lookup", "service", "countersign", "username", "lab/api-key"],
                               capture_output=True, text=True)
        self.assertEqual(found.stdout.strip(), REVIEWER_KEY)
        for root, _, files in os.walk(self.data):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(REVIEWER_KEY.encode(), f.read(), name)

    def test_a_submitted_job_appears_and_approve_records_the_hash_shown(self):
        app = self.open_app()
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        start = time.monotonic()
        job_id = self.gateway.submit("customer.notify", "Email ACME about the delay", risk_tags=["network"])
        self.app.wait_for(f'[data-job-id="{job_id}"]')
        print(f"\n  submit to card: {time.monotonic() - start:.2f} s", end=" ")
        card = self.card(job_id)
        shown_hash = app.attribute(self.button(card, '[data-testid="card-hash"]'), "title")
        app.click(self.button(card, ".button-approve"))
        self.outcome(job_id, lambda t: t.startswith("Approved"))
        job = self.wait_job(job_id, lambda j: j.get("approval_job_hash"))
        self.assertEqual(job["approval_job_hash"], shown_hash)
        self.assertEqual(self.gateway.audit_actions(job_id).count("approve"), 1)
        # The card follows the job past the gateway's dispatch-time gate.
        after = app.wait_for_text(f'[data-job-id="{job_id}"] [data-testid="decision-sentence"]',
                                  lambda t: t != "Approved")
        self.assertEqual(after, "Approved, dispatched.")
        # ... and the history says it too, offline.
        done = self.cli("--profile", "work", "--json", "audit", "list", "--kind", "job_status", "--job", job_id)
        self.assertEqual(done.returncode, 0, done.stderr)
        statuses = json.loads(done.stdout)["entries"]
        self.assertEqual([e["outcome"] for e in statuses][-1:], ["dispatched"], statuses)
        self.assertEqual(statuses[-1]["body"]["line"], "approved, dispatched")

    def test_reject_with_a_reason(self):
        app = self.open_app()
        job_id = self.gateway.submit("customer.notify", "Email Tyrell", risk_tags=["network"])
        card = self.card(job_id)
        app.click(self.button(card, ".button-reject"))
        field = app.wait_for("#reject-reason")
        app.fill(field, "wrong customer", enter=True)
        self.outcome(job_id, lambda t: t.startswith("Rejected"))
        job = self.wait_job(job_id, lambda j: j.get("state") not in ("APPROVAL_REQUIRED", None))
        self.assertNotEqual(job["state"], "APPROVAL_REQUIRED")
        self.assertEqual(job.get("approval_job_hash", ""), "")

    def test_a_high_risk_item_needs_the_typed_hash_and_a_wrong_entry_sends_nothing(self):
        app = self.open_app()
        job_id = self.gateway.submit("infra.resource.delete", "Delete vm-batch-17", risk_tags=["prod", "delete"])
        card = self.card(job_id)
        full_hash = app.attribute(self.button(card, '[data-testid="card-hash"]'), "title")
        app.click(self.button(card, ".button-approve"))
        field = app.wait_for("#confirm-hash")
        app.fill(field, "zzzz", enter=True)
        error = app.wait_for_text('[data-testid="confirm-dialog"] [role="alert"]', bool)
        self.assertIn("Nothing was sent", error)
        self.assertEqual(self.gateway.job(job_id)["state"], "APPROVAL_REQUIRED")
        self.assertEqual(self.gateway.audit_actions(job_id), ["submit"])
        app.fill(field, full_hash[-4:], enter=True)
        self.outcome(job_id, lambda t: t.startswith("Approved"))
        self.assertEqual(self.wait_job(job_id, lambda j: j.get("approval_job_hash"))["approval_job_hash"], full_hash)

    def test_with_the_gateway_down_a_reject_waits_and_lands_exactly_once_after_restart(self):
        app = self.open_app()
        job_id = self.gateway.submit("customer.notify", "Email Cyberdyne", risk_tags=["network"])
        card = self.card(job_id)
        self.gateway.stop()
        self.addCleanup(lambda: self.gateway.process.poll() is not None and self.gateway.start())
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Offline since" in t, timeout=60)
        approve = self.button(card, ".button-approve")
        self.assertEqual(app.attribute(approve, "disabled"), "true")
        app.click(self.button(card, ".button-reject"))
        app.fill(app.wait_for("#reject-reason"), "not now", enter=True)
        self.outcome(job_id, lambda t: "will retry" in t, timeout=90)
        self.gateway.start()
        self.wait_job(job_id, lambda j: j.get("state") != "APPROVAL_REQUIRED", timeout=60)
        time.sleep(6)  # two more recovery rounds: nothing may be sent again
        self.assertEqual(self.gateway.audit_actions(job_id).count("reject"), 1)

    def test_a_payload_changed_behind_the_gateway_is_refused_locally_naming_it(self):
        app = self.open_app()
        job_id = self.gateway.submit("customer.notify", "Email Globex", risk_tags=["network"],
                                     context={"subject": "Delay notice", "amount": 120})
        card = self.card(job_id)
        # textContent: the card caps long agent strings to a few lines (overflow hidden), which
        # WebKitWebDriver's visible-text algorithm reports as empty.
        self.assertIn("120", app.execute("return arguments[0].textContent", {ELEMENT_KEY:
                                         self.button(card, '[data-testid="card-payload"]')}))
        # Someone with access to the gateway's store replaces the payload; the job hash stays.
        with sqlite3.connect(os.path.join(self.gateway.dir, "gw.sqlite")) as db:
            changed = db.execute("UPDATE jobs SET context = ? WHERE id = ?",
                                 ('{"subject":"Delay notice","amount":9800000}', job_id)).rowcount
        self.assertEqual(changed, 1)
        app.click(self.button(card, ".button-approve"))
        refusal = self.outcome(job_id, lambda t: "nothing was sent" in t)
        self.assertIn("payload", refusal)
        self.assertIn("9800000", refusal)
        self.assertEqual(self.gateway.audit_actions(job_id), ["submit"])
        self.assertEqual(self.gateway.job(job_id)["state"], "APPROVAL_REQUIRED")

    def test_history_verifies_offline_and_names_a_tampered_entry(self):
        app = self.open_app()
        job_id = self.gateway.submit("customer.notify", "Email Wayne", risk_tags=["network"])
        card = self.card(job_id)
        app.click(self.button(card, ".button-reject"))
        app.fill(app.wait_for("#reject-reason"), "no", enter=True)
        self.outcome(job_id, lambda t: t.startswith("Rejected"))
        self.gateway.stop()
        self.addCleanup(lambda: self.gateway.process.poll() is not None and self.gateway.start())
        app.click(app.find('[data-testid="history-tab"]'))
        app.wait_for('[data-kind="decision_outcome"]')
        app.click(app.find('[data-testid="history"] .history-head button'))
        check = app.wait_for_text('[data-testid="chain-check"]', bool)
        self.assertIn("Intact", check)
        ledger = os.path.join(self.data, "ledgers", "work.sqlite")
        with sqlite3.connect(ledger) as db:
            db.execute("UPDATE entries SET body = '{\"edited\":true}' WHERE seq = 2")
        app.click(app.find('[data-testid="history"] .history-head button'))
        broken = app.wait_for_text('[data-testid="chain-check"]', lambda t: "Broken" in t)
        self.assertIn("#2", broken)
        self.assertIn("entry edited", broken)

    def test_agent_strings_render_as_text(self):
        app = self.open_app()
        job_id = self.gateway.submit("customer.notify", XSS, risk_tags=[XSS], principal=XSS,
                                     context={"title": XSS, "vendor": XSS}, labels={"note": XSS})
        card = self.card(job_id)
        self.assertEqual(app.execute("return arguments[0].textContent", {ELEMENT_KEY: self.button(card, ".card-title")}), XSS)
        self.assertIn(XSS, app.text(card))
        injected = app.execute(
            "return [document.querySelectorAll('#root img, #root script').length, window.__pwned === undefined]")
        self.assertEqual(injected, [0, True])


if __name__ == "__main__":
    unittest.main()
