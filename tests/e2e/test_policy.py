"""Policy changes need a countersign too (seed 004), in the real app against the real gateway."""

import json
import time
import unittest

from gateway import POLICY
from harness import AppCase

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'

TIGHTER = POLICY.replace("Messages to customers need a human.",
                         "Messages to customers need a human and a second look.")


class Policy(AppCase):
    def propose(self, title: str, yaml: str) -> str:
        status, draft = self.gateway.call("POST", "/api/v1/policy/drafts", {"title": title, "yaml": yaml})
        self.assertEqual(status, 201, draft)
        return draft["draft_id"]

    def test_a_policy_change_approved_in_the_app_becomes_the_policy_and_the_queue_re_evaluates(self):
        app = self.open_app()
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        job_id = self.gateway.submit("customer.notify", "Email ACME about the delay", risk_tags=["network"])
        self.card(job_id)
        draft_id = self.propose(f"A second look at customer messages {XSS}", TIGHTER)
        # The draft event reaches the window: the Policy tab counts it.
        app.wait_for_text('[data-testid="drafts-count"]', lambda t: t == "1", timeout=20)
        app.click(app.find('[data-testid="policy-tab"]'))
        app.click(app.wait_for(f'[data-testid="draft-row"][data-draft="{draft_id}"]'))
        title = app.wait_for_text('[data-testid="draft-title"]', bool)
        self.assertIn("<img", title, "the title is text, not markup")
        self.assertEqual(app.execute(
            "return [document.querySelectorAll('#root img, #root script').length, window.__pwned === undefined]"),
            [0, True])
        changed = app.wait_for('[data-testid="rule-changed"]')
        self.assertEqual(app.attribute(changed, "data-rule"), "notices-need-a-human")
        self.assertIn("reason", app.attribute(changed, "data-fields").split(","))
        summary = app.wait_for_text('[data-testid="impact-summary"]', bool)
        self.assertIn("1 pending approval(s)", summary)
        self.assertEqual(app.attribute(app.find('[data-testid="draft-hash"]'), "data-verified"), "true")
        app.click(app.find('[data-testid="draft-approve"]'))
        outcome = app.wait_for('[data-testid="draft-outcome"][data-state="decided"]', timeout=30)
        self.assertEqual(app.attribute(outcome, "data-code"), "approved")

        # Both sides record who approved which policy.
        status, draft = self.gateway.call("GET", f"/api/v1/policy/drafts/{draft_id}", None)
        self.assertEqual(status, 200, draft)
        self.assertEqual(draft["approval"]["actor"], "alice")
        self.assertEqual(draft["approval"]["channel"], "desktop")
        done = self.cli("--profile", "work", "--json", "audit", "list", "--kind", "governance_outcome",
                        "--job", draft_id)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual([e["outcome"] for e in json.loads(done.stdout)["entries"]], ["approved"])

        # The pending item was re-evaluated under the new policy.
        app.click(app.find('[data-testid="queue-tab"]'))
        app.wait_for_text(f'[data-job-id="{job_id}"]', lambda t: "second look" in t, timeout=30)

    def test_a_draft_that_moved_on_screen_is_shown_anew_and_not_approvable_at_once(self):
        app = self.open_app()
        draft_id = self.propose("Tighter", TIGHTER)
        app.click(app.wait_for('[data-testid="policy-tab"]'))
        app.click(app.wait_for(f'[data-testid="draft-row"][data-draft="{draft_id}"]'))
        app.wait_for('[data-testid="draft-approve"]')
        status, moved = self.gateway.call("PUT", f"/api/v1/policy/drafts/{draft_id}",
                                          {"yaml": TIGHTER.replace("second look", "third look")})
        self.assertEqual(status, 200, moved)
        # The draft event brings the new version on screen, and it must be read first.
        app.wait_for_text('[data-testid="draft-version"]', lambda t: t.startswith("2"))
        blocked = app.wait_for_text('[data-testid="draft-approve-blocked"]', bool)
        self.assertIn("just changed", blocked)
        status, draft = self.gateway.call("GET", f"/api/v1/policy/drafts/{draft_id}", None)
        self.assertIsNone(draft.get("approval"), draft)
        # Once read, the new version is approved bound to itself.
        deadline = time.monotonic() + 10
        while app.attribute(app.find('[data-testid="draft-approve"]'), "disabled") is not None:
            self.assertLess(time.monotonic(), deadline, "approve never came back")
            time.sleep(0.1)
        app.click(app.find('[data-testid="draft-approve"]'))
        app.wait_for('[data-testid="draft-outcome"][data-state="decided"]', timeout=30)
        status, draft = self.gateway.call("GET", f"/api/v1/policy/drafts/{draft_id}", None)
        self.assertEqual(draft["approval"]["draft_version"], 2, draft)

if __name__ == "__main__":
    unittest.main()
