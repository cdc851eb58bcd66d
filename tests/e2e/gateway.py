"""The real `countersign-gateway` binary on a free loopback port, with known keys and a policy,
plus the HTTP calls an agent and an admin make. Standard library only."""

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

AGENT_KEY = "e2e-agent-key-000000001"
REVIEWER_KEY = "e2e-alice-key-000000002"
ADMIN_KEY = "e2e-admin-key-000000003"

# More agents for the benchmarks: notifications collapse a flood from one submitter.
BENCH_AGENTS = {f"bench-agent-{n}": f"e2e-bench-agent-key-{n:04d}" for n in range(10)}

KEYS = f"""keys:
  - {{ tenant: default, key: "{AGENT_KEY}", role: agent, principal: agent-7 }}
  - {{ tenant: default, key: "{REVIEWER_KEY}", role: operator, principal: alice }}
  - {{ tenant: default, key: "{ADMIN_KEY}", role: admin, principal: bob }}
""" + "".join(f"  - {{ tenant: default, key: \"{key}\", role: agent, principal: {name} }}\n"
              for name, key in BENCH_AGENTS.items())

POLICY = """version: v1
rules:
  - id: payments-need-a-human
    when: { topic: finance.payment.execute }
    decision: require_human
    reason: Payments need a human.
    constraints: { budgets: { max_retries: 1 } }
  - id: deletes-need-a-human
    when: { topic: infra.resource.delete }
    decision: require_human
    reason: Deleting production resources needs a human.
  - id: notices-need-a-human
    when: { topic: customer.notify }
    decision: require_human
    reason: Messages to customers need a human.
"""


def parse(body: bytes):
    """JSON where the gateway answers JSON; the plain text otherwise (`/health`)."""
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return body.decode(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    def __init__(self, bin_dir: str, artifacts: str):
        self.binary = os.path.join(bin_dir, "countersign-gateway")
        self.dir = tempfile.mkdtemp(prefix="cs-e2e-gw-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(artifacts, f"gateway-{self.port}.log"), "ab")
        for name, text in (("keys.yaml", KEYS), ("policy.yaml", POLICY)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--listen", f"127.0.0.1:{self.port}", "--data", os.path.join(self.dir, "gw.sqlite"),
             "--api-keys", os.path.join(self.dir, "keys.yaml"), "--policy", os.path.join(self.dir, "policy.yaml")],
            stdout=self.log, stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.call("GET", "/health", None, key=None)
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway did not start; see {self.log.name}")
                time.sleep(0.1)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def call(self, method: str, path: str, body, key=ADMIN_KEY):
        headers = {"Content-Type": "application/json", "X-Tenant-ID": "default"}
        if key:
            headers["X-API-Key"] = key
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, parse(response.read())
        except urllib.error.HTTPError as error:
            return error.code, parse(error.read())

    def submit(self, topic: str, prompt: str, risk_tags=(), context=None, labels=None, principal="agent-7",
               key=AGENT_KEY) -> str:
        body = {"prompt": prompt, "topic": topic, "principal_id": principal, "risk_tags": list(risk_tags),
                "labels": labels or {}}
        if context is not None:
            body["context"] = context
        status, answer = self.call("POST", "/api/v1/jobs", body, key=key)
        if status != 200 or not answer.get("job_id"):
            raise AssertionError(f"submit failed: {status} {answer}")
        return answer["job_id"]

    def publish_policy(self, yaml: str) -> str:
        """Publishes a policy as an admin does (`PUT /api/v1/policy`, the YAML as the body)."""
        request = urllib.request.Request(self.url + "/api/v1/policy", data=yaml.encode(), method="PUT",
                                         headers={"X-API-Key": ADMIN_KEY, "X-Tenant-ID": "default",
                                                  "Content-Type": "application/yaml"})
        with urllib.request.urlopen(request, timeout=20) as response:
            return parse(response.read())["snapshot"]

    def job(self, job_id: str) -> dict:
        status, answer = self.call("GET", f"/api/v1/jobs/{job_id}", None)
        if status != 200:
            raise AssertionError(f"job {job_id}: {status} {answer}")
        return answer

    def audit_actions(self, job_id: str) -> list:
        status, answer = self.call("GET", "/api/v1/audit/events?limit=1000", None)
        if status != 200:
            raise AssertionError(f"audit: {status} {answer}")
        return [e["action"] for e in answer["items"] if e.get("job_id") == job_id]

    def close(self):
        self.stop()
        self.log.close()
