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
    def __init__(self, endpoint: str, application: str, timeout: float = 60.0):
        self.endpoint = endpoint.rstrip("/")
        deadline = time.monotonic() + timeout
        capabilities = {"capabilities": {"alwaysMatch": {"tauri:options": {"application": application}}}}
        while True:
            try:
                value = self._call("POST", "/session", capabilities)
                break
            except (urllib.error.URLError, ConnectionError) as error:
                # tauri-driver may still be binding its port.
                if time.monotonic() > deadline:
                    raise WebDriverError(f"no WebDriver at {self.endpoint}: {error}") from error
                time.sleep(0.2)
        self.session_id = value["sessionId"]

    def _call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise WebDriverError(f"{method} {path}: HTTP {error.code}: {detail}") from error

    def _session(self, method: str, path: str, body=None):
        return self._call(method, f"/session/{self.session_id}{path}", body)

    def quit(self):
        try:
            self._session("DELETE", "")
        except (WebDriverError, urllib.error.URLError):
            pass

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
