"""Desktop notifications on the real app, with dunst as the notification server on the private
session bus: each scenario has its own gateway, so the queue starts empty and every item it
submits is news (see harness.py for the rest)."""

import json
import os
import subprocess
import time
import unittest

from gateway import Gateway
from harness import AppCase

DMENU = os.environ.get("COUNTERSIGN_E2E_DMENU_DIR", "")
# Servers started in place of the run's own: they serve the remaining scenarios and end with
# the run's session bus.
REPLACEMENT_SERVERS = []


def dunstctl(*args) -> str:
    return subprocess.run(["dunstctl", *args], capture_output=True, text=True, timeout=20).stdout


class Notifications(AppCase):
    def setUp(self):
        super().setUp()
        # A fresh gateway per scenario: nothing pending from another one raises a burst.
        self.gateway = Gateway(self.bin_dir, self.artifacts)
        self.addCleanup(self.gateway.close)
        dunstctl("close-all")
        self.addCleanup(dunstctl, "close-all")

    def offered(self, pick: str = "#nothing#", timeout: float = 10.0) -> list:
        """The actions dunst offers for what is on screen, as its context menu lists them
        (`#Approve (Approval: title) [id,approve]`); `pick` presses the line holding it."""
        offered = os.path.join(DMENU, "offered")
        with open(os.path.join(DMENU, "pick"), "w") as f:
            f.write(pick)
        before = os.stat(offered).st_mtime_ns if os.path.exists(offered) else 0
        dunstctl("context")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(offered) and os.stat(offered).st_mtime_ns != before:
                with open(offered) as f:
                    lines = [line.strip() for line in f if line.strip()]
                # dunst refuses a new menu while this one is still closing.
                time.sleep(0.4)
                return lines
            time.sleep(0.05)
        return []  # nothing on screen: dunst runs no menu

    def wait_offered(self, predicate, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while True:
            lines = self.offered(timeout=1.0)
            if predicate(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"dunst never offered what was expected; last: {lines}")
            time.sleep(0.3)

    def submit(self, title: str, topic="customer.notify", tags=("network",)) -> str:
        return self.gateway.submit(topic, f"Do {title}", risk_tags=list(tags), context={"title": title})

    def live_app(self):
        app = self.open_app()
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        return app

    def notification_entries(self) -> list:
        done = self.cli("--profile", "work", "--json", "audit", "list", "--kind", "notification")
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)["entries"]

    def test_a_new_item_offers_approve_reject_open_and_approve_there_approves(self):
        self.live_app()
        job_id = self.submit("Email Acme about the delay")
        lines = self.wait_offered(lambda ls: any("Email Acme" in line for line in ls))
        mine = [line for line in lines if "Approval: Email Acme about the delay" in line]
        self.assertEqual({line.split(" ")[0] for line in mine}, {"#Approve", "#Reject", "#Open", "#Report"}, lines)
        self.offered(pick="#Approve (Approval: Email Acme about the delay)")
        job = self.wait_job(job_id, lambda j: j.get("approval_job_hash"))
        self.assertEqual(self.gateway.audit_actions(job_id).count("approve"), 1)
        self.assertTrue(job["approval_job_hash"])
        events = [e["body"].get("event") for e in self.notification_entries() if e.get("job_id") == job_id]
        self.assertIn("shown", events)
        self.assertIn("decision", events)
        # Its Approve is gone from the screen: the item is decided.
        self.wait_offered(lambda ls: not any("#Approve (Approval: Email Acme" in line for line in ls))

    def test_a_high_risk_item_offers_no_approve(self):
        self.live_app()
        job_id = self.submit("Delete vm-prod-7", topic="infra.resource.delete", tags=("prod", "delete"))
        lines = self.wait_offered(lambda ls: any("Delete vm-prod-7" in line for line in ls))
        mine = [line for line in lines if "Delete vm-prod-7" in line]
        self.assertFalse([line for line in mine if line.startswith("#Approve")], mine)
        self.assertTrue([line for line in mine if line.startswith("#Reject")], mine)
        self.assertEqual(self.gateway.job(job_id)["state"], "APPROVAL_REQUIRED")

    def test_a_forged_action_signal_approves_nothing_and_is_recorded(self):
        self.live_app()
        job_id = self.submit("Email Globex")
        gone_id = self.submit("Email Soylent")
        lines = self.wait_offered(lambda ls: any("#Approve (Approval: Email Globex)" in line for line in ls)
                                  and any("(Approval: Email Soylent)" in line for line in ls))

        def notification_of(title):
            line = next(line for line in lines if f"(Approval: {title})" in line)
            return line.rsplit("[", 1)[1].split(",")[0]
        live, withdrawn = notification_of("Email Globex"), notification_of("Email Soylent")
        # Another reviewer decides one: its notification is withdrawn, its id still forgeable.
        status, answer = self.gateway.call("POST", f"/api/v1/approvals/{gone_id}/reject", {"reason": "not ours"})
        self.assertEqual(status, 200, answer)
        self.wait_offered(lambda ls: not any("Email Soylent" in line for line in ls))
        # 100 forgeries from another connection on the session bus, for the live and the
        # withdrawn notification, with every action key: each refused, and few ledger entries
        # for them (a local process must not be able to fill the reviewer's history: one per
        # 10 s recording window).
        started = time.monotonic()
        forgeries = 0
        for n in range(100):
            target = live if n % 2 == 0 else withdrawn
            action = ("approve", "reject", "default")[n % 3]
            forged = subprocess.run(
                ["gdbus", "emit", "--session", "--object-path", "/org/freedesktop/Notifications",
                 "--signal", "org.freedesktop.Notifications.ActionInvoked", target, action],
                capture_output=True, text=True, timeout=20)
            self.assertEqual(forged.returncode, 0, forged.stderr)
            forgeries += 1
        took = time.monotonic() - started

        def recorded():
            return [e for e in self.notification_entries() if e["body"].get("event") == "forged_signal_refused"]
        deadline = time.monotonic() + 10
        while not recorded():
            self.assertLess(time.monotonic(), deadline, "the forged signal was not recorded")
            time.sleep(0.3)
        time.sleep(1)
        decisions = [a for a in self.gateway.audit_actions(job_id) if a in ("approve", "reject")]
        later = [a for a in self.gateway.audit_actions(gone_id) if a in ("approve", "reject")]
        print(f"\nRELIABILITY forged_actions forged={forgeries} live_targets=50 withdrawn_targets=50 "
              f"gateway_decisions_by_forgery={len(decisions) + len(later) - later.count('reject')} "
              f"ledger_entries={len(recorded())} seconds={took:.1f}",
              end=" ")
        self.assertEqual(self.gateway.job(job_id)["state"], "APPROVAL_REQUIRED")
        self.assertEqual(decisions, [])
        self.assertEqual(later, ["reject"], "only the other reviewer's reject")
        # Nor did any forgery get as far as a decision recorded in the reviewer's ledger.
        done = self.cli("--profile", "work", "--json", "audit", "list", "--kind", "decision_intent")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["entries"], [])
        self.assertLessEqual(len(recorded()), int(took // 10) + 2)

    def test_an_item_resolved_elsewhere_has_its_notification_withdrawn(self):
        self.live_app()
        job_id = self.submit("Email Initech")
        self.wait_offered(lambda ls: any("Email Initech" in line for line in ls))
        status, answer = self.gateway.call("POST", f"/api/v1/approvals/{job_id}/reject",
                                           {"reason": "another reviewer said no"})
        self.assertEqual(status, 200, answer)
        self.wait_offered(lambda ls: not any("Email Initech" in line for line in ls))

    def test_a_burst_of_ten_gives_one_summary(self):
        self.live_app()
        for n in range(10):
            self.submit(f"Burst item {n}")
        lines = self.wait_offered(lambda ls: any("10 new approvals" in line for line in ls), timeout=30)
        self.assertEqual([line for line in lines if "new approvals" in line][0].split(" ")[0], "#Open")
        self.assertFalse([line for line in lines if "Burst item" in line and line.startswith("#Approve")], lines)

    def test_do_not_disturb_raises_nothing_and_loses_nothing(self):
        app = self.live_app()
        app.click(app.find('[data-testid="settings-tab"]'))
        box = app.wait_for('[data-testid="settings"] fieldset:nth-of-type(3) input[type="checkbox"]')
        app.click(box)
        time.sleep(1)
        job_id = self.submit("Email Soylent")
        app.click(app.find('[data-testid="queue-tab"]'))
        self.card(job_id)
        time.sleep(1)
        self.assertFalse([line for line in self.offered() if "Email Soylent" in line])
        app.click(app.find('[data-testid="settings-tab"]'))
        app.click(app.wait_for('[data-testid="settings"] fieldset:nth-of-type(3) input[type="checkbox"]'))
        self.wait_offered(lambda ls: any("1 approval arrived while notifications were paused" in line for line in ls))

    def restart_dunst(self):
        """Stops the notification server the run started and starts another on the same bus."""
        owner = subprocess.run(
            ["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
             "--method", "org.freedesktop.DBus.GetConnectionUnixProcessID", "org.freedesktop.Notifications"],
            capture_output=True, text=True, timeout=20)
        self.assertEqual(owner.returncode, 0, owner.stderr)
        pid = int(owner.stdout.strip("()\n, ").split()[-1])
        os.kill(pid, 15)
        config = os.path.join(os.path.dirname(DMENU), "dunstrc")
        with open(os.path.join(self.artifacts, "dunst-restarted.log"), "ab") as log:
            REPLACEMENT_SERVERS.append(subprocess.Popen(["dunst", "-config", config], stdout=log, stderr=log))

    def test_after_the_notification_server_restarts_one_summary_says_what_waits(self):
        self.live_app()
        self.submit("Email Umbrella")
        self.wait_offered(lambda ls: any("#Approve (Approval: Email Umbrella)" in line for line in ls))
        self.restart_dunst()
        lines = self.wait_offered(lambda ls: any("1 approval still waiting" in line for line in ls))
        self.assertFalse([line for line in lines if "Email Umbrella" in line], lines)
        # New items are raised on the new server as before.
        self.submit("Email Tyrell")
        self.wait_offered(lambda ls: any("#Approve (Approval: Email Tyrell)" in line for line in ls))


if __name__ == "__main__":
    unittest.main()
