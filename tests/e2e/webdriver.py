"""A minimal W3C WebDriver client over the standard library, enough to drive the real app
through tauri-driver. Kept dependency-free so `make test` needs no PyPI packages."""

import json
import time
import urllib.error
import urllib.request

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(RuntimeError):
    pass


class Session:
    def __init__(self, endpoint: str, application: str | None, timeout: float = 60.0, args=(), browser=None):
        """A session of the app at `application` (through tauri-driver), or, with `browser`, of
        another WebDriver's browser with those capabilities (the benchmarks' reference)."""
        self.endpoint = endpoint.rstrip("/")
        self._wait_until_ready(timeout)
        wanted = browser if browser is not None else {"tauri:options": {"application": application, "args": list(args)}}
        capabilities = {"capabilities": {"alwaysMatch": wanted}}
        # On a loaded machine tauri-driver's proxy sometimes drops the new-session request
        # before WebKitWebDriver answers. WebKitWebDriver holds one session at a time, so a
        # retry cannot leave two app instances behind: it either creates the session or fails.
        for attempt in range(3):
            try:
                self.session_id = self._call("POST", "/session", capabilities)["sessionId"]
                return
            except ConnectionError:
                if attempt == 2:
                    raise
                time.sleep(1)

    def _wait_until_ready(self, timeout: float):
        """tauri-driver and the WebKitWebDriver behind it start asynchronously; /status
        answers only once both accept requests."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._call("GET", "/status")
                return
            except (WebDriverError, urllib.error.URLError, ConnectionError) as error:
                if time.monotonic() > deadline:
                    raise WebDriverError(f"no WebDriver ready at {self.endpoint}: {error}") from error
                time.sleep(0.2)

    def _call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        # tauri-driver forwards our headers to WebKitWebDriver. "Connection: close" stops its
        # proxy from pooling connections that WebKitWebDriver may close while idle, which
        # otherwise surfaces under load as a dropped request ("client error (SendRequest)").
        headers = {"Content-Type": "application/json", "Connection": "close"}
        request = urllib.request.Request(self.endpoint + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise WebDriverError(f"{method} {path}: HTTP {error.code}: {detail}") from error

    def _session(self, method: str, path: str, body=None):
        # Reads and clicks are repeated when the proxy dropped them (see _call and click);
        # typing goes through _act, once, since a repeat would type twice.
        for attempt in range(3):
            try:
                return self._call(method, f"/session/{self.session_id}{path}", body)
            except ConnectionError:
                if attempt == 2:
                    raise
                time.sleep(0.5)

    def _act(self, method: str, path: str, body=None):
        """A command that changes something (a click, typing): sent once, never repeated."""
        return self._call(method, f"/session/{self.session_id}{path}", body)

    def click(self, element):
        """Repeated if the proxy drops it: the app must be safe against a double click anyway
        (a button disables itself once sending, and the decision protocol claims each job), and
        the tests assert exactly-once at the gateway, so a repeat cannot hide a second send."""
        self._session("POST", f"/element/{element}/click", {})

    def fill(self, element, text: str, enter: bool = False):
        """Replaces a field's text with `text`, typed as keys, then presses Enter if asked. The
        proxy sometimes drops a request (see _call); this one may be repeated because each try
        first selects the field's text, so the keys typed replace, never add to, an earlier try.
        A repeated Enter is a double submit, which the app must survive as it does a double
        click."""
        for attempt in range(3):
            try:
                self.execute("arguments[0].select()", {ELEMENT_KEY: element})
                self._act("POST", f"/element/{element}/value", {"text": text})
                break
            except ConnectionError:
                if attempt == 2:
                    raise
                time.sleep(0.5)
        if enter:
            self._session("POST", f"/element/{element}/value", {"text": "\ue007"})

    def keys(self, text: str):
        """Types into whatever has focus (key events reach the window's handlers)."""
        self._act("POST", f"/element/{self.active()}/value", {"text": text})

    def active(self):
        return self._session("GET", "/element/active")[ELEMENT_KEY]

    def selected(self, element) -> bool:
        """Whether a checkbox or radio button is checked (the property, not the attribute)."""
        return self._session("GET", f"/element/{element}/selected")

    def attribute(self, element, name: str):
        return self._session("GET", f"/element/{element}/attribute/{name}")

    def find_in(self, element, css: str):
        value = self._session("POST", f"/element/{element}/element", {"using": "css selector", "value": css})
        return value[ELEMENT_KEY]

    def execute(self, script: str, *args):
        return self._session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def execute_async(self, script: str, *args):
        """Runs `script` with a callback as its last argument; answers what it is called with."""
        return self._session("POST", "/execute/async", {"script": script, "args": list(args)})

    def screenshot(self, path: str):
        import base64

        with open(path, "wb") as out:
            out.write(base64.b64decode(self._session("GET", "/screenshot")))

    def wait_for(self, css: str, timeout: float = 20.0):
        """Polls until an element matches `css`; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_all(css)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"{css}: never appeared")
            time.sleep(0.1)

    def quit(self):
        try:
            self._session("DELETE", "")
        except (WebDriverError, urllib.error.URLError):
            pass

    def go(self, url: str):
        """Opens `url` in the browser (the reference; the app opens its own page)."""
        self._session("POST", "/url", {"url": url})

    def title(self) -> str:
        return self._session("GET", "/title")

    def find(self, css: str):
        value = self._session("POST", "/element", {"using": "css selector", "value": css})
        return value[ELEMENT_KEY]

    def find_all(self, css: str):
        values = self._session("POST", "/elements", {"using": "css selector", "value": css})
        return [value[ELEMENT_KEY] for value in values]

    def text(self, element) -> str:
        return self._session("GET", f"/element/{element}/text")

    def wait_for_text(self, css: str, predicate, timeout: float = 20.0) -> str:
        """Polls until the element exists and its text satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.text(self.find(css))
                if predicate(last):
                    return last
            except WebDriverError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{css}: text never matched; last seen: {last!r}")
