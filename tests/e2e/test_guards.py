"""Guards on the real app: bulk approval leaves high-risk items out, a policy published while an
item is on screen never lets an approve through under the old policy, and a profile whose key
is gone is signed in again in place (see harness.py for what each scenario runs against)."""

import subprocess
import time
import unittest

from gateway import POLICY, REVIEWER_KEY
from harness import SETTLE_S, AppCase

# The card ignores approve clicks for 500 ms after it changed: a click sooner than this after
# the publish is bound to be refused one way or another, whichever way the update raced it.
RACE_BOUND_S = 0.45


class Guards(AppCase):
    def test_bulk_approve_skips_high_risk_items_and_reports_per_item(self):
        app = self.open_app()
        calm = [self.gateway.submit("customer.notify", f"Email customer {n}", risk_tags=["network"]) for n in (1, 2)]
        risky = self.gateway.submit("infra.resource.delete", "Delete vm-legacy-3", risk_tags=["prod", "delete"])
        for job_id in (*calm, risky):
            card = self.card(job_id)
            app.click(self.button(card, 'input[type="checkbox"]'))
        app.wait_for_text(".bulk-bar", lambda t: "3 selected" in t)
        time.sleep(SETTLE_S)
        app.click(app.find(".bulk-bar .button-approve"))
        report = app.wait_for_text('[data-testid="bulk-report"]', bool)
        self.assertIn("Approved 2", report)
        self.assertIn("1 skipped", report)
        for job_id in calm:
            self.wait_job(job_id, lambda j: j.get("approval_job_hash"))
            self.assertEqual(self.gateway.audit_actions(job_id).count("approve"), 1)
        self.assertEqual(self.gateway.job(risky)["state"], "APPROVAL_REQUIRED")
        self.assertNotIn("approve", self.gateway.audit_actions(risky))

    def test_a_policy_published_under_the_card_never_lets_the_old_version_through(self):
        app = self.open_app()
        for attempt in range(3):
            job_id = self.gateway.submit("customer.notify", f"Email Initech {attempt}", risk_tags=["network"])
            card = self.card(job_id)
            approve = self.button(card, ".button-approve")
            self.gateway.publish_policy(POLICY.replace("Messages to customers need a human.",
                                                       f"Customer messages need a human (v{attempt + 2})."))
            published = time.monotonic()
            app.click(approve)
            if time.monotonic() - published < RACE_BOUND_S:
                break
        else:
            self.skipTest("the webview never took a click within 450 ms of a publish")
        # Refused (policy changed, card changed, just moved) or not taken at all (the button was
        # disabled while the changed card's content reloaded): never sent.
        time.sleep(2)
        self.assertNotIn("approve", self.gateway.audit_actions(job_id))
        said = app.find_all(f'[data-job-id="{job_id}"] [data-testid="outcome"]')
        if said:
            # The webview's guard or the desk's own (which rechecks what the click names).
            self.assertRegex(app.text(said[0]),
                             "(?i)nothing was sent|just appeared, changed|just appeared or changed|changed since")
        # The card now shows the new policy; approving it, looked at again, binds to that one.
        changed = app.wait_for(f'[data-job-id="{job_id}"] [data-testid="changed-mark"]')
        self.assertIn("policy", app.attribute(changed, "title"))
        card = self.card(job_id)
        app.click(self.button(card, ".button-approve"))
        self.outcome(job_id, lambda t: t.startswith("Approved"))
        self.wait_job(job_id, lambda j: j.get("approval_job_hash"))
        self.assertEqual(self.gateway.audit_actions(job_id).count("approve"), 1)

    def test_a_profile_whose_key_is_gone_signs_in_again_in_place(self):
        app = self.open_app()
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        app.click(app.find('[data-testid="sign-out"]'))
        app.wait_for_text('[data-testid="status-line"]', lambda t: "No profile open" in t)
        app.click(app.wait_for('[data-testid="saved-profiles"] button'))
        field = app.wait_for("#sign-in-secret")
        app.fill(field, "e2e-wrong-key-000000009", enter=True)
        error = app.wait_for_text('[data-testid="sign-in-error"]', bool)
        self.assertIn("refused", error)
        app.fill(field, REVIEWER_KEY, enter=True)
        app.wait_for('[data-testid="queue"]')
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        found = subprocess.run(["secret-tool", "lookup", "service", "countersign", "username", "work/api-key"],
                               capture_output=True, text=True)
        self.assertEqual(found.stdout.strip(), REVIEWER_KEY)
        job_id = self.gateway.submit("customer.notify", "Email Hooli", risk_tags=["network"])
        self.card(job_id)


if __name__ == "__main__":
    unittest.main()
