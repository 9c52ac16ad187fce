"""The Auth0 tenant simulator, driven by a client nobody here wrote: Auth0's
official Python SDK (auth0-python). SIM_BIN names the simulator binary."""

import contextlib
import json
import os
import socket
import subprocess
import re
import time
import urllib.parse
import urllib.request

import pyotp
import pytest
from auth0.authentication import Database, GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import Auth0
from auth0.management.errors import BadRequestError, NotFoundError, TooManyRequestsError

CLIENT_ID = "nexus-sim-client"
CLIENT_SECRET = "nexus-sim-secret-do-not-use-in-production"
CONNECTION = "Username-Password-Authentication"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def simulator(rate_limit=1000):
    port = free_port()
    process = subprocess.Popen(
        [os.environ["SIM_BIN"], "--listen", f"127.0.0.1:{port}", "--rate-limit", str(rate_limit)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def domain():
    with simulator() as running:
        yield running


@pytest.fixture(scope="module")
def management(domain):
    token = GetToken(domain, CLIENT_ID, client_secret=CLIENT_SECRET, protocol="http").client_credentials(
        f"http://{domain}/api/v2/"
    )
    assert token["token_type"] == "Bearer"
    assert "update:users" in token["scope"].split()
    return Auth0(base_url=f"http://{domain}/api/v2", token=token["access_token"], max_retries=0)


def test_wrong_client_secret_gets_no_token(domain):
    with pytest.raises(Exception) as failure:
        GetToken(domain, CLIENT_ID, client_secret="wrong", protocol="http").client_credentials(f"http://{domain}/api/v2/")
    assert "Unauthorized" in str(failure.value) or "access_denied" in str(failure.value)


def test_create_get_list_and_delete(management):
    created = management.users.create(
        connection=CONNECTION, email="ada@example.com", password="Passw0rd!long", given_name="Ada"
    )
    assert created.user_id.startswith("auth0|")
    assert created.email == "ada@example.com"
    fetched = management.users.get(created.user_id)
    assert fetched.given_name == "Ada"
    assert fetched.identities[0].connection == CONNECTION

    management.users.create(connection=CONNECTION, email="bob@example.com", password="Passw0rd!long")
    found = list(management.users.list(q='email:"ada@example.com"', include_totals=True))
    assert [u.user_id for u in found] == [created.user_id]
    everyone = list(management.users.list(per_page=1, include_totals=True))
    assert len(everyone) == 2, "the pager walks both pages"

    management.users.delete(created.user_id)
    with pytest.raises(NotFoundError):
        management.users.get(created.user_id)


def test_app_metadata_merges_as_auth0_does(management):
    user = management.users.create(
        connection=CONNECTION,
        email="meta@example.com",
        password="Passw0rd!long",
        app_metadata={"keep": "k", "nested": {"x": 1, "y": 2}},
    )
    # Top-level keys merge.
    updated = management.users.update(user.user_id, app_metadata={"added": "a"})
    assert updated.app_metadata == {"keep": "k", "nested": {"x": 1, "y": 2}, "added": "a"}
    # A nested object is replaced, not merged.
    updated = management.users.update(user.user_id, app_metadata={"nested": {"z": 3}})
    assert updated.app_metadata["nested"] == {"z": 3}
    # null deletes a key.
    updated = management.users.update(user.user_id, app_metadata={"keep": None})
    assert "keep" not in updated.app_metadata and updated.app_metadata["added"] == "a"
    # {} clears everything.
    updated = management.users.update(user.user_id, app_metadata={})
    assert updated.app_metadata == {}
    assert management.users.get(user.user_id).app_metadata == {}


def test_created_users_get_auth0_defaults(management):
    user = management.users.create(connection=CONNECTION, email="grace.h@example.com", password="Passw0rd!long")
    assert user.name == "grace.h@example.com"
    assert user.nickname == "grace.h"
    assert user.picture and user.picture.startswith("https://")
    assert user.logins_count == 0
    assert user.email_verified is False
    found = management.users.list_users_by_email(email="grace.h@example.com")
    assert [u.user_id for u in found] == [user.user_id]


def test_profile_updates_follow_auth0_rules(management):
    user = management.users.create(connection=CONNECTION, email="rules@example.com", password="Passw0rd!long")
    for bad in ({"given_name": "x" * 151}, {"name": ""}, {"email": "not-an-email"}):
        with pytest.raises(BadRequestError) as refused:
            management.users.update(user.user_id, **bad)
        assert refused.value.status_code == 400, bad
    edge = management.users.update(user.user_id, given_name="x" * 150)
    assert edge.given_name == "x" * 150
    # Nothing of the refused updates was kept.
    assert management.users.get(user.user_id).email == "rules@example.com"


def test_connections_and_clients_as_nexus_reads_them(management):
    database = list(management.connections.list(strategy="auth0"))
    assert [c.name for c in database] == [CONNECTION]
    by_name = list(management.connections.list(name=CONNECTION))
    assert [c.id for c in by_name] == [database[0].id]
    assert management.connections.get(database[0].id).strategy == "auth0"
    clients = list(management.clients.list(per_page=1, include_totals=True))
    assert CLIENT_ID in [c.client_id for c in clients]


def test_clients_are_created_listed_and_enabled_on_a_connection(management):
    from auth0.management import UpdateEnabledClientConnectionsRequestContentItem as Enabled

    created = management.clients.create(
        name="Portal",
        app_type="regular_web",
        callbacks=["https://portal.example.com/cb"],
        client_metadata={"app_upn_key": "rdp", "owners": "developers"},
    )
    assert created.client_secret and created.client_metadata["app_upn_key"] == "rdp"
    listed = list(management.clients.list(per_page=1, include_totals=True))
    portal = next(c for c in listed if c.client_id == created.client_id)
    assert portal.client_metadata == {"app_upn_key": "rdp", "owners": "developers"}
    assert portal.callbacks == ["https://portal.example.com/cb"]
    assert management.clients.get(created.client_id).name == "Portal"
    some = list(management.clients.list(fields="client_id,name", include_fields=True))
    assert {c.client_id for c in some} == {CLIENT_ID, created.client_id}
    assert all(c.callbacks is None for c in some)

    connection = list(management.connections.list(name=CONNECTION))[0].id
    enabled = lambda: [c.client_id for c in management.connections.clients.get(connection, take=1)]
    assert enabled() == [CLIENT_ID]
    management.connections.clients.update(connection, request=[Enabled(client_id=created.client_id, status=True)])
    assert enabled() == [CLIENT_ID, created.client_id]
    management.connections.clients.update(connection, request=[Enabled(client_id=created.client_id, status=False)])
    assert enabled() == [CLIENT_ID]
    with pytest.raises(NotFoundError):
        management.connections.clients.update("con_nothere", request=[Enabled(client_id=CLIENT_ID, status=True)])


def test_a_malformed_user_id_is_a_bad_request(management):
    with pytest.raises(BadRequestError):
        management.users.get("no-provider-separator")
    with pytest.raises(NotFoundError):
        management.users.get("auth0|000000000000000000000000")


def test_rate_limited_answers_say_none_remain():
    with simulator(rate_limit=1) as domain:
        token = GetToken(domain, CLIENT_ID, client_secret=CLIENT_SECRET, protocol="http").client_credentials(
            f"http://{domain}/api/v2/"
        )
        client = Auth0(base_url=f"http://{domain}/api/v2", token=token["access_token"], max_retries=0)
        with pytest.raises(TooManyRequestsError) as limited:
            for _ in range(20):
                list(client.users.list(per_page=1))
        headers = {k.lower(): v for k, v in (limited.value.headers or {}).items()}
        assert headers.get("x-ratelimit-remaining") == "0", headers
        assert int(headers["x-ratelimit-reset"]) > 0


def inbox(domain):
    with urllib.request.urlopen(f"http://{domain}/__sim/emails", timeout=5) as reply:
        return json.load(reply)


def test_passwords_blocks_and_password_logins(domain, management):
    user = management.users.create(connection=CONNECTION, email="lin@example.com", password="first-password")
    login = GetToken(domain, CLIENT_ID, client_secret=CLIENT_SECRET, protocol="http")
    assert login.login("lin@example.com", "first-password", realm=CONNECTION)["access_token"]
    with pytest.raises(BadRequestError):
        management.users.update(user.user_id, password="seven77", connection=CONNECTION)
    management.users.update(user.user_id, password="second-password", connection=CONNECTION)
    with pytest.raises(Auth0Error) as refused:
        login.login("lin@example.com", "first-password", realm=CONNECTION)
    assert refused.value.status_code == 403
    assert login.login("lin@example.com", "second-password", realm=CONNECTION)["id_token"]

    management.users.update(user.user_id, blocked=True)
    with pytest.raises(Auth0Error) as blocked:
        login.login("lin@example.com", "second-password", realm=CONNECTION)
    assert blocked.value.status_code == 401
    management.users.update(user.user_id, blocked=False)

    for _ in range(10):
        with pytest.raises(Auth0Error):
            login.login("lin@example.com", "wrong-password", realm=CONNECTION)
    blocks = management.user_blocks.list(user.user_id)
    assert [b.identifier for b in blocks.blocked_for] == ["lin@example.com"]
    management.user_blocks.delete(user.user_id)
    assert management.user_blocks.list(user.user_id).blocked_for == []
    assert login.login("lin@example.com", "second-password", realm=CONNECTION)["access_token"]


def test_reset_tickets_and_verification_emails(domain, management):
    user = management.users.create(connection=CONNECTION, email="ida@example.com", password="ida-password")
    Database(domain, CLIENT_ID, protocol="http").change_password(email="ida@example.com", connection=CONNECTION)
    sent = [e for e in inbox(domain) if e["to"] == "ida@example.com"]
    assert [e["kind"] for e in sent] == ["reset_password"]
    assert "/lo/reset?ticket=" in sent[0]["link"]

    ticket = management.tickets.change_password(user_id=user.user_id, result_url="https://app.example.com/")
    assert "/lo/reset?ticket=" in ticket.ticket

    job = management.jobs.verification_email.create(user_id=user.user_id)
    assert job.type == "verification_email"
    assert management.jobs.get(job.id).status == "completed"
    kinds = [e["kind"] for e in inbox(domain) if e["to"] == "ida@example.com"]
    assert kinds == ["reset_password", "verify_email"]
    with pytest.raises(BadRequestError):
        management.jobs.verification_email.create(user_id="auth0|nobody")


def test_enrollment_tickets_enroll_an_authenticator_once(domain, management):
    user = management.users.create(connection=CONNECTION, email="mae@example.com", password="mae-password")
    assert management.users.enrollments.get(user.user_id) == []
    ticket = management.guardian.enrollments.create_ticket(user_id=user.user_id, send_mail=True, factor="otp")
    assert ticket.ticket_url.endswith(f"ticket={ticket.ticket_id}")
    sent = [e for e in inbox(domain) if e["to"] == "mae@example.com"]
    assert [(e["kind"], e["link"]) for e in sent] == [("mfa_enrollment", ticket.ticket_url)]

    # The user opens the link, scans the otpauth URI with an authenticator
    # (pyotp here) and confirms its current code.
    with urllib.request.urlopen(ticket.ticket_url, timeout=5) as page:
        html = page.read().decode()
    uri = re.search(r'href="(otpauth://[^"]+)"', html).group(1).replace("&amp;", "&")
    authenticator = pyotp.parse_uri(uri)
    form = urllib.parse.urlencode({"ticket": ticket.ticket_id, "otp": authenticator.now()}).encode()
    with urllib.request.urlopen(f"http://{domain}/lo/mfa-enroll", data=form, timeout=5) as confirmed:
        assert confirmed.status == 200
    [enrollment] = management.users.enrollments.get(user.user_id)
    assert (enrollment.status, enrollment.auth_method) == ("confirmed", "authenticator")
    with pytest.raises(urllib.error.HTTPError) as used:
        urllib.request.urlopen(ticket.ticket_url, timeout=5)
    assert used.value.code == 400

    with pytest.raises(NotFoundError):
        management.guardian.enrollments.create_ticket(user_id="auth0|nobody")
    with pytest.raises(BadRequestError):
        management.guardian.enrollments.create_ticket(user_id="nobody")


def test_the_mfa_api_enrolls_with_an_mfa_token(domain, management):
    user = management.users.create(connection=CONNECTION, email="kay@example.com", password="kay-password")
    auth = GetToken(domain, CLIENT_ID, client_secret=CLIENT_SECRET, protocol="http")
    mfa_token = auth.login(
        "kay@example.com", "kay-password", realm=CONNECTION, audience=f"http://{domain}/mfa/", scope="enroll"
    )["access_token"]
    # The SDK has no MFA API methods: its own authenticated requests carry them.
    associated = auth.authenticated_post(
        f"http://{domain}/mfa/associate",
        data={"authenticator_types": ["otp"]},
        headers={"Authorization": f"Bearer {mfa_token}"},
    )
    assert associated["authenticator_type"] == "otp"
    authenticator = pyotp.TOTP(associated["secret"])
    assert pyotp.parse_uri(associated["barcode_uri"]).secret == associated["secret"]

    def verify(code):
        return auth.authenticated_post(
            f"http://{domain}/oauth/token",
            data={
                "grant_type": "http://auth0.com/oauth/grant-type/mfa-otp",
                "client_id": CLIENT_ID,
                "mfa_token": mfa_token,
                "otp": code,
            },
        )

    wrong = authenticator.at(time.time() + 600)
    with pytest.raises(Auth0Error) as refused:
        verify(wrong)
    assert (refused.value.status_code, refused.value.error_code) == (403, "invalid_grant")
    assert refused.value.message == "Invalid otp_code."
    tokens = verify(authenticator.now())
    assert tokens["token_type"] == "Bearer"
    [enrollment] = management.users.enrollments.get(user.user_id)
    assert enrollment.status == "confirmed"


def test_user_exports_are_jobs_with_a_gzipped_file(management):
    import gzip

    from auth0.management import CreateExportUsersFields

    user = management.users.create(connection=CONNECTION, email="exp@example.com", password="exp-password")
    connection = next(c for c in management.connections.list() if c.name == CONNECTION)
    job = management.jobs.users_exports.create(
        connection_id=connection.id,
        format="json",
        fields=[CreateExportUsersFields(name="user_id"), CreateExportUsersFields(name="email", export_as="mail")],
    )
    assert (job.type, job.status, job.connection) == ("users_export", "pending", CONNECTION)
    while (polled := management.jobs.get(job.id)).status != "completed":
        assert polled.status == "pending"
    with urllib.request.urlopen(polled.location) as download:
        lines = gzip.decompress(download.read()).decode().splitlines()
    exported = [json.loads(line) for line in lines]
    assert {"user_id": user.user_id, "mail": "exp@example.com"} in exported
    with pytest.raises(BadRequestError):
        management.jobs.users_exports.create(connection_id="con_nothere000000000")


@contextlib.contextmanager
def log_receiver():
    """A loopback endpoint that records what a log stream posts to it."""
    import http.server
    import threading

    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((self.path, self.headers["Authorization"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()


def test_log_streams_post_the_tenants_events(management):
    from auth0.management import CreateLogStreamHttpRequestBody, LogStreamHttpSink

    with log_receiver() as (endpoint, received):
        created = management.log_streams.create(
            request=CreateLogStreamHttpRequestBody(
                name="nexus",
                type="http",
                sink=LogStreamHttpSink(
                    http_endpoint=f"{endpoint}/log-stream",
                    http_authorization="Bearer log-stream-token-0123456789",
                    http_content_format="JSONLINES",
                    http_content_type="application/json",
                ),
            )
        )
        assert (created.type, created.status, created.name) == ("http", "active", "nexus")
        assert created.sink.http_content_format == "JSONLINES"
        assert [s.id for s in management.log_streams.list()] == [created.id]
        assert management.log_streams.get(created.id).sink.http_endpoint == f"{endpoint}/log-stream"

        user = management.users.create(connection=CONNECTION, email="streamed@example.com", password="Passw0rd!long")
        management.users.update(user.user_id, email_verified=True)
        management.users.delete(user.user_id)
        deadline = time.time() + 10
        while len(received) < 2:
            assert time.time() < deadline, received
            time.sleep(0.05)
        events = []
        for path, authorization, body in received:
            assert (path, authorization) == ("/log-stream", "Bearer log-stream-token-0123456789")
            assert body.endswith("\n") and len(body.splitlines()) == 1
            events.append(json.loads(body))
        assert sorted(e["data"]["type"] for e in events) == ["sdu", "sv"]
        assert {e["data"]["user_id"] for e in events} == {user.user_id}
        assert len({e["log_id"] for e in events}) == 2

        management.log_streams.delete(created.id)
        with pytest.raises(NotFoundError):
            management.log_streams.get(created.id)
        assert management.log_streams.list() == []
    with pytest.raises(BadRequestError):
        management.log_streams.create(
            request=CreateLogStreamHttpRequestBody(type="http", sink=LogStreamHttpSink(http_endpoint="http://example.com/"))
        )
