"""Hostile content in the UI (issue 13): a corpus of XSS and UI-spoofing payloads placed in every
agent-supplied field, rendered in the real app. Nothing executes, every card stays usable, and
characters that reorder or hide text are drawn as visible marks. Prints one summary line."""

import json
import os
import time
import unittest

from gateway import AGENT_KEY
from harness import AppCase

RLO, PDF, ZWSP, ZWJ, LRI, PDI, BOM = "\u202e", "\u202c", "\u200b", "\u200d", "\u2066", "\u2069", "\ufeff"
MARKS = {"\u200b": "ZWSP", "\u200c": "ZWNJ", "\u200d": "ZWJ", "\u200e": "LRM", "\u200f": "RLM",
         "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
         "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI", "\ufeff": "BOM"}

CORPUS = [
    '<script>window.__pwned=1</script>',
    '<img src=x onerror="window.__pwned=2">',
    '<svg onload="window.__pwned=3"></svg>',
    '<svg><script>window.__pwned=4</script></svg>',
    '<iframe src="javascript:window.top.__pwned=5"></iframe>',
    '<a href="javascript:window.__pwned=6">click me</a>',
    'javascript:window.__pwned=7',
    '<style>body{display:none !important}</style>',
    '<link rel=stylesheet href="data:text/css,body{display:none}">',
    '<div style="position:fixed;inset:0;background:red;z-index:99999">covered</div>',
    '"><script>window.__pwned=8</script>',
    "'><img src=x onerror=window.__pwned=9>",
    '</textarea><script>window.__pwned=10</script>',
    '</title><script>window.__pwned=11</script>',
    '<body onload="window.__pwned=12">',
    '<input autofocus onfocus="window.__pwned=13">',
    '<details open ontoggle="window.__pwned=14">',
    '<video><source onerror="window.__pwned=15"></video>',
    '<object data="javascript:window.__pwned=16"></object>',
    '<embed src="javascript:window.__pwned=17">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    '<form action="https://evil.example"><button>Approve</button></form>',
    '<math><mi xlink:href="javascript:window.__pwned=18">x</mi></math>',
    '<marquee onstart="window.__pwned=19">x</marquee>',
    '<x onclick="window.__pwned=20">click</x>',
    '" onmouseover="window.__pwned=21"',
    '{{constructor.constructor("window.__pwned=22")()}}',
    '${window.__pwned=23}',
    '<img src="x:alert(alt)" onerror="eval(src)" alt=0>',
    '&lt;script&gt;window.__pwned=24&lt;/script&gt;',
    '%3Cscript%3Ewindow.__pwned=25%3C/script%3E',
    '\\u003cscript\\u003ewindow.__pwned=26\\u003c/script\\u003e',
    '<!--', ']]>', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    '[Approve](javascript:window.__pwned=27)',
    'data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0yODwvc2NyaXB0Pg==',
    '<svg><foreignObject><iframe srcdoc="<script>parent.__pwned=29</script>"></iframe></foreignObject></svg>',
    '<template><img src=x onerror=window.__pwned=30></template>',
    # UI spoofing: fake verdicts, fake buttons, fake system text.
    '✅ content verified — safe to approve',
    'Approved by security-team [identity checked]',
    '[ Approve ]  [ Reject ]',
    'Countersign: this request was pre-approved, click Approve',
    # Text that reorders or hides itself.
    f'invoice{RLO}gpj.exe{PDF}',
    f'pay {RLO}000,01${PDF} to ACME',
    f'appr{ZWSP}ove the tr{ZWJ}ansfer',
    f'{LRI}admin{PDI} access for {BOM}bob',
    'Z̴̡̪͂a̷̰͝l̶̝̈g̸̱̋ȍ̶̬ text' * 5,
    '\n' * 200 + 'hidden below newlines',
    'a' * 4000,
    '👩‍👩‍👧‍👦' * 300,
    'W' * 49_000,  # the gateway's prompt limit is 50,000 characters
]


def joins_emoji(text: str, at: int) -> bool:
    """A joiner between emoji hides nothing (as `joinsEmoji` in ui/src/components/AgentText.tsx)."""
    before, after = text[at - 1] if at else "", text[at + 1] if at + 1 < len(text) else ""
    emoji = lambda c: c != "" and (ord(c) >= 0x1F000 or 0x2600 <= ord(c) <= 0x27BF)
    return text[at] == ZWJ and (emoji(before) or before == "\ufe0f") and emoji(after)


def visible(text: str) -> str:
    """What the card shows: hidden characters drawn as marks (as ui/src/components/AgentText.tsx)."""
    return "".join(f"⟨{MARKS[c]}⟩" if c in MARKS and not joins_emoji(text, i) else c
                   for i, c in enumerate(text))


COLLECT = """
const scroll = document.querySelector('[data-testid="queue-scroll"]');
const cards = [...document.querySelectorAll('[data-testid="approval-card"]')].map(card => {
  const approve = card.querySelector('.button-approve').getBoundingClientRect();
  return [card.dataset.jobId, card.querySelector('.card-title').textContent,
          Math.round(card.getBoundingClientRect().height), approve.width > 0 && approve.height > 0,
          card.querySelectorAll('[data-testid="badge"]').length,
          card.querySelectorAll('[data-testid="hidden-char"]').length,
          card.querySelectorAll('[data-testid="lookalike-mark"]').length];
});
return [cards, scroll.scrollHeight, scroll.clientHeight];
"""

INJECTED = """
return [document.querySelectorAll('#root script, #root iframe, #root object, #root embed, #root style, '
        + '#root link, #root meta, #root base, #root form, #root video, #root math, #root marquee, '
        + '#root template, #root x, #root img').length,
        window.__pwned === undefined, document.title, getComputedStyle(document.body).display];
"""


class Hostile(AppCase):
    def test_a_corpus_of_hostile_payloads_renders_as_inert_visible_text(self):
        app = self.open_app()
        app.wait_for_text('[data-testid="status-line"]', lambda t: "Live" in t)
        title_before = app.execute("return document.title")
        jobs = {}
        narrowed = 0
        for n, payload in enumerate(CORPUS):
            context = {"title": payload, "vendor": payload, payload[:64] or "key": "value"}
            try:
                job_id = self.gateway.submit("customer.notify", payload, risk_tags=[payload[:64]],
                                             principal=f"agent-{n}" if len(payload) > 64 else payload,
                                             context=context, labels={"note": payload[:256]})
            except AssertionError:
                # A field over the gateway's submit limits (labels, tags) is refused with a clear
                # 400; the payload still goes everywhere the limits allow.
                narrowed += 1
                job_id = self.gateway.submit("customer.notify", payload, context={"title": payload})
            jobs[job_id] = payload
        refused = self.gateway.call("POST", "/api/v1/jobs", {"prompt": "x" * (1 << 20), "topic": "customer.notify",
                                                              "principal_id": "agent-7"},
                                    key=AGENT_KEY)
        self.assertEqual(refused[0], 400, refused)

        seen = {}
        deadline = time.monotonic() + 90
        top = 0
        while len(seen) < len(jobs) and time.monotonic() < deadline:
            cards, height, client = app.execute(COLLECT)
            for job_id, title, card_height, approve_visible, badges, hidden, lookalikes in cards:
                if job_id in jobs:
                    seen[job_id] = (title, card_height, approve_visible, badges, hidden, lookalikes)
            top = 0 if top + client >= height else top + client // 2
            app.execute(f"document.querySelector('[data-testid=\"queue-scroll\"]').scrollTop = {top}")
            time.sleep(0.3)
        self.assertEqual(len(seen), len(jobs), f"cards never shown: {set(jobs) - set(seen)}")

        injected, safe, title_after, display = app.execute(INJECTED)
        self.assertEqual((injected, safe, title_after, display), (0, True, title_before, "block"))
        tallest = 0
        for job_id, payload in jobs.items():
            title, card_height, approve_visible, badges, hidden, _ = seen[job_id]
            self.assertEqual(title, visible(payload), f"{job_id}: the title is the payload as text")
            self.assertTrue(approve_visible, f"{job_id}: its Approve button is on screen")
            self.assertEqual(badges, 1, f"{job_id}: one verification badge, the app's own")
            if any(c in MARKS for c in payload):
                self.assertGreater(hidden, 0, f"{job_id}: hidden characters are drawn")
            tallest = max(tallest, card_height)
        app.execute("document.querySelector('[data-testid=\"queue-scroll\"]').scrollTop = 0")
        time.sleep(0.5)
        self.shot()
        self.assertLess(tallest, 900, "a hostile string never makes a card taller than a screen")
        print(f"\nRELIABILITY hostile_ui payloads={len(jobs)} fields_per_payload=7 narrowed_by_limits={narrowed} "
              f"executed=0 injected_elements={injected} tallest_card_px={tallest}", end=" ")
        with open(os.path.join(self.artifacts, "hostile-ui.json"), "w") as out:
            json.dump({"payloads": len(jobs), "narrowed_by_limits": narrowed, "executed": 0,
                       "injected_elements": injected, "tallest_card_px": tallest}, out)


if __name__ == "__main__":
    unittest.main()
