"""Nexus webhook deliveries, verified by an implementation nobody here wrote:
the Standard Webhooks Python package. NEXUS_BIN names the server binary."""

import base64
import contextlib
import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ADMIN = "admin:webhook-test-secret-0123456789abcdef"
SECRET_KEY = base64.b64encode(b"nexus-webhook-test-key-32-bytes!").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "authorization": "Basic " + base64.b64encode(ADMIN.encode()).decode(),
            "content-type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path}: {error.code} {error.read().decode()}") from None


@contextlib.contextmanager
def nexus():
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        env = dict(
            os.environ,
            NEXUS_DATABASE_URL=f"sqlite://{directory}/nexus.db",
            NEXUS_LISTEN=f"127.0.0.1:{port}",
            NEXUS_BOOTSTRAP_API_KEY=ADMIN,
            NEXUS_SECRET_KEY=SECRET_KEY,
            NEXUS_WEBHOOK_ALLOW_PRIVATE="true",
        )
        process = subprocess.Popen(
            [os.environ["NEXUS_BIN"], "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.time() + 30
            while True:
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    if time.time() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.05)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)


class Inbox(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        Inbox.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def receiver():
    Inbox.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()


def wait_for(count):
    deadline = time.time() + 20
    while len(Inbox.received) < count:
        assert time.time() < deadline, f"{count} deliveries expected, {len(Inbox.received)} arrived"
        time.sleep(0.05)
    return Inbox.received


@pytest.fixture(scope="module")
def base():
    with nexus() as running:
        call(running, "POST", "/v1/idp_tenants",
             {"name": "us-1", "azoTenantName": "eci-us-prod", "fqdn": "eci-us-prod.us.auth0.com"})
        call(running, "POST", "/v1/organizations",
             {"name": "acme", "displayName": "Acme", "type": "Customer", "crmAccountId": "0011x"})
        yield running


def make_user(base, name):
    return call(base, "POST", "/v1/users", {"authenticationMethod": "Database", "displayName": name,
                                             "idpTenantId": "us-1", "organization": "acme"})


@pytest.mark.parametrize("own_secret", [None, "whsec_" + base64.b64encode(os.urandom(24)).decode()])
def test_deliveries_verify_with_the_standard_webhooks_package(base, own_secret):
    with receiver() as url:
        body = {"url": url, "eventTypes": ["user.created", "user.updated"]}
        if own_secret:
            body["secret"] = own_secret
        hook = call(base, "POST", "/v1/webhooks", body)
        secret = hook["secret"]
        assert secret.startswith("whsec_")
        if own_secret:
            assert secret == own_secret
        user = make_user(base, "Ada Lovelace")
        call(base, "PATCH", f"/v1/users/{user['id']}", {"displayName": "Ada King"})
        received = wait_for(2)

        # Deliveries may arrive in any order; event ids increase with time.
        received = sorted(received, key=lambda r: json.loads(r[1])["data"]["id"])
        payloads = [Webhook(secret).verify(body, headers) for headers, body in received]
        assert [p["type"] for p in payloads] == ["user.created", "user.updated"]
        assert payloads[0]["data"]["resourceId"] == user["id"]
        assert payloads[0]["data"]["operation"] == "CreateUser"
        assert payloads[1]["data"]["changes"]["displayName"] == {"before": "Ada Lovelace", "after": "Ada King"}
        assert received[0][0]["webhook-id"] == f"msg_{payloads[0]['data']['id']}"

        # The package refuses what Nexus did not sign: another secret, a changed body.
        headers, body = received[0]
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + base64.b64encode(b"another-secret-of-32-bytes------").decode()).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body.replace(b"Ada", b"Eve"), headers)
        call(base, "DELETE", f"/v1/webhooks/{hook['id']}")
