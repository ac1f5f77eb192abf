"""The collector's HTTP endpoint served for real (``web.AppRunner`` on 127.0.0.1:0, in a thread).

Requests go over real TCP with ``http.client``, so status codes, headers, body limits and the
database writes are what an agent would meet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import http.client
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from cmdb.agent_tokens import create_token, list_tokens, revoke_token
from cmdb.models import AgentHeartbeat, AuditEntry
from collectors.http import MAX_BODY_BYTES, Heartbeat, HeartbeatCallback, create_app, start_server
from collectors.settings import CollectorSettings
from tests.factories import make_world

AGENT = "arm-001"  # the token's name
METRICS_BEARER = "m-secret"
BOGUS = "bogus-token"


@dataclass
class Call:
    """One ``on_heartbeat`` call."""

    name: str
    kind: str
    key: str
    heartbeat: Heartbeat
    received_at: dt.datetime


@dataclass
class Recorder:
    """An ``on_heartbeat`` callback that remembers its calls (thread-safe enough for tests)."""

    calls: list[Call] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def __call__(
        self, name: str, kind: str, key: str, heartbeat: Heartbeat, at: dt.datetime
    ) -> None:
        self.calls.append(Call(name, kind, key, heartbeat, at))
        self.arrived.set()


class ServerThread:
    """``create_app`` served by a real ``AppRunner`` on 127.0.0.1 with its own event loop."""

    def __init__(
        self,
        engine: Engine,
        *,
        on_heartbeat: HeartbeatCallback | None = None,
        registry: CollectorRegistry | None = None,
        ssl_context: ssl.SSLContext | None = None,
        **options: Any,
    ) -> None:
        self.engine = engine
        self.on_heartbeat = on_heartbeat
        self.registry = registry or CollectorRegistry()
        self.ssl_context = ssl_context
        self.options = options
        self.port = 0
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="kontur-http-test", daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            app = create_app(
                self.engine,
                CollectorSettings(),
                self.registry,
                self.on_heartbeat,
                **self.options,
            )
            runner, self.port = loop.run_until_complete(
                start_server(app, "127.0.0.1", 0, ssl_context=self.ssl_context)
            )
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection; (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        try:
            if chunked:
                assert body is not None
                chunks = iter([body[i : i + 8192] for i in range(0, len(body), 8192)])
                conn.request(method, path, chunks, all_headers, encode_chunked=True)
            else:
                conn.request(method, path, body, all_headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def post(self, payload: Any, token: str | None = None) -> tuple[int, dict[str, Any]]:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, _headers, body = self.request("POST", "/api/v1/heartbeat", raw, token=token)
        return status, (json.loads(body) if body else {})


def heartbeat_payload(**overrides: Any) -> dict[str, Any]:
    """A valid heartbeat as the agent sends it."""
    payload: dict[str, Any] = {
        "hostname": "arm-mo-1-001",
        "token_name": "arm-001",
        "uptime_s": 3600.5,
        "agent_version": "0.1.0",
        "vipnet": {
            "service_active": True,
            "process_running": True,
            "keys_valid_until": "2027-02-01",
            "certificate_valid_until": None,
        },
        "disk": [{"mount": "/", "total_bytes": 100 * 2**30, "free_bytes": 40 * 2**30}],
        "memory": {"total_bytes": 8 * 2**30, "available_bytes": 5 * 2**30},
        "sent_at": "2026-11-23T12:00:00+03:00",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def token(engine: Engine) -> str:
    make_world(engine)
    _, plain = create_token(
        engine, "arm-001", object_kind="workstation", object_key="arm-mo-1-001", actor="tester"
    )
    return plain


def deny_rows(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == "deny").order_by(AuditEntry.id)
            )
        )


def heartbeats(engine: Engine) -> dict[str, AgentHeartbeat]:
    with Session(engine) as session:
        return {r.token_name: r for r in session.scalars(select(AgentHeartbeat))}


def metric(server: ServerThread, result: str) -> float:
    value = server.registry.get_sample_value("kontur_agent_heartbeats_total", {"result": result})
    assert value is not None
    return value


def test_healthz_needs_no_auth(engine: Engine) -> None:
    with ServerThread(engine, metrics_token=METRICS_BEARER) as server:
        status, _headers, body = server.request("GET", "/healthz")
    assert (status, body) == (200, b"ok")


def test_metrics_serves_the_registry(engine: Engine) -> None:
    registry = CollectorRegistry()
    Gauge("kontur_test_sample", "A sample", registry=registry).set(42)
    with ServerThread(engine, registry=registry) as server:
        status, headers, body = server.request("GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "kontur_test_sample 42.0" in text
    assert 'kontur_agent_heartbeats_total{result="accepted"} 0.0' in text
    # The app's collector leaves the registry with the app.
    assert (
        registry.get_sample_value("kontur_agent_heartbeats_total", {"result": "accepted"}) is None
    )


def test_metrics_bearer_token(engine: Engine) -> None:
    with ServerThread(engine, metrics_token=METRICS_BEARER) as server:
        assert server.request("GET", "/metrics")[0] == 401
        assert server.request("GET", "/metrics", token=BOGUS)[0] == 401
        status, _, body = server.request("GET", "/metrics", token=METRICS_BEARER)
    assert status == 200
    assert b"kontur_agent_heartbeats_total" in body


def test_heartbeat_is_stored_and_handed_on(engine: Engine, token: str) -> None:
    recorder = Recorder()
    with ServerThread(engine, on_heartbeat=recorder) as server:
        status, body = server.post(heartbeat_payload(), token)
        assert (status, body) == (204, {})
        status, _ = server.post(heartbeat_payload(uptime_s=3660.0), token)
        assert status == 204
        assert metric(server, "accepted") == 2
    [row] = heartbeats(engine).values()
    assert row.token_name == AGENT
    assert row.remote_addr == "127.0.0.1"
    assert row.payload["uptime_s"] == 3660.0
    assert row.payload["vipnet"]["keys_valid_until"] == "2027-02-01"
    assert row.payload["sent_at"] == "2026-11-23T12:00:00+03:00"
    assert [c.key for c in recorder.calls] == ["arm-mo-1-001", "arm-mo-1-001"]
    call = recorder.calls[-1]
    assert (call.name, call.kind) == ("arm-001", "workstation")
    assert call.heartbeat.vipnet.keys_valid_until == dt.date(2027, 2, 1)
    assert call.received_at == row.received_at
    [info] = list_tokens(engine)
    assert info.last_used_at == row.received_at


def test_async_callback_is_awaited_and_a_failing_one_does_not_fail_the_push(
    engine: Engine, token: str
) -> None:
    seen: list[str] = []

    async def async_callback(
        name: str, kind: str, key: str, heartbeat: Heartbeat, at: dt.datetime
    ) -> None:
        await asyncio.sleep(0)
        seen.append(key)

    def failing(name: str, kind: str, key: str, heartbeat: Heartbeat, at: dt.datetime) -> None:
        raise RuntimeError("ledger is down")

    with ServerThread(engine, on_heartbeat=async_callback) as server:
        assert server.post(heartbeat_payload(), token)[0] == 204
    assert seen == ["arm-mo-1-001"]
    with ServerThread(engine, on_heartbeat=failing) as server:
        assert server.post(heartbeat_payload(uptime_s=1.0), token)[0] == 204
    assert heartbeats(engine)["arm-001"].payload["uptime_s"] == 1.0


def test_missing_unknown_and_revoked_tokens_are_refused_and_audited(
    engine: Engine, token: str
) -> None:
    recorder = Recorder()
    with ServerThread(engine, on_heartbeat=recorder) as server:
        status, headers, raw = server.request(
            "POST", "/api/v1/heartbeat", json.dumps(heartbeat_payload(token_name=None)).encode()
        )
        assert status == 401
        assert headers["WWW-Authenticate"] == "Bearer"
        assert json.loads(raw)["message"] == "нужен заголовок Authorization: Bearer <токен агента>"

        wrong = token[::-1]
        claim = heartbeat_payload(token_name="arm-777")
        status, body = server.post(claim, wrong)
        assert (status, body["message"]) == (401, "неизвестный токен агента")

        revoke_token(engine, "arm-001", actor="tester")
        claim = heartbeat_payload(token_name="claimed")
        status, body = server.post(claim, token)
        assert (status, body["message"]) == (401, "токен агента отозван")
        assert metric(server, "unauthorized") == 3
    assert recorder.calls == []
    assert heartbeats(engine) == {}
    missing, unknown, revoked = deny_rows(engine)
    assert (missing.entity, missing.entity_key, missing.source) == (
        "agent_token",
        "unknown",
        "127.0.0.1",
    )
    assert missing.after == {"reason": "missing", "claimed_hostname": "arm-mo-1-001"}
    assert unknown.entity_key == "arm-777"
    assert unknown.after == {
        "reason": "unknown",
        "claimed_name": "arm-777",
        "claimed_hostname": "arm-mo-1-001",
    }
    # A revoked token's own name is known: it names the entry, the claim is kept beside it.
    assert revoked.entity_key == "arm-001"
    assert revoked.after is not None
    assert (revoked.after["reason"], revoked.after["claimed_name"]) == ("revoked", "claimed")
    journal = json.dumps([[e.before, e.after, e.entity_key] for e in deny_rows(engine)])
    for secret in (token, wrong, hashlib.sha256(token.encode()).hexdigest()):
        assert secret not in journal


def test_denials_are_audited_at_most_once_per_interval(engine: Engine, token: str) -> None:
    with ServerThread(engine) as server:
        for n in range(3):  # varying the claimed name does not open new slots
            claim = heartbeat_payload(token_name=f"arm-{n}")
            assert server.post(claim, BOGUS)[0] == 401
        assert metric(server, "unauthorized") == 3
    [entry] = deny_rows(engine)
    assert entry.entity_key == "arm-0"
    with ServerThread(engine, deny_audit_interval_s=0) as server:
        for _ in range(3):
            assert server.post(heartbeat_payload(), BOGUS)[0] == 401
    assert len(deny_rows(engine)) == 4


def test_malformed_json_is_400(engine: Engine, token: str) -> None:
    with ServerThread(engine) as server:
        status, body = server.post(b'{"hostname": "arm-mo-1-001",', token)
        assert status == 400
        assert body["error"] == "bad_json"
        assert body["message"].startswith("тело запроса не является JSON")
        assert server.post(b"\xff\xfe", token)[0] == 400
        assert server.post(b"[1, 2]", token)[0] == 400
        assert server.post(b"", token)[0] == 400
    with ServerThread(engine, locale="en") as server:
        status, body = server.post(b"{", token)
    assert (status, body["error"]) == (400, "bad_json")
    assert body["message"].startswith("the request body is not JSON")
    assert heartbeats(engine) == {}


def test_invalid_heartbeat_is_400_with_the_problems(engine: Engine, token: str) -> None:
    payload = heartbeat_payload(
        hostname="arm mo",
        uptime_s=-1,
        disk=[{"mount": "/", "total_bytes": 10, "free_bytes": 11}],
        sent_at="2026-11-23T12:00:00",  # no time zone
    )
    del payload["agent_version"]
    with ServerThread(engine) as server:
        status, body = server.post(payload, token)
        assert metric(server, "invalid") == 1
    assert status == 400
    assert body["error"] == "invalid_payload"
    assert body["message"] == "неверные данные heartbeat: ошибок 5"
    locations = {p["loc"] for p in body["problems"]}
    assert locations == {"hostname", "uptime_s", "agent_version", "disk.0", "sent_at"}
    assert heartbeats(engine) == {}


def test_body_size_limit(engine: Engine, token: str) -> None:
    exact = json.dumps(heartbeat_payload()).encode()
    exact += b" " * (MAX_BODY_BYTES - len(exact))
    assert len(exact) == MAX_BODY_BYTES
    too_big = exact + b" "
    with ServerThread(engine) as server:
        assert server.post(exact, token)[0] == 204
        status, body = server.post(too_big, token)
        assert (status, body["error"], body["limit"]) == (413, "too_large", MAX_BODY_BYTES)
        assert body["message"] == f"тело запроса больше {MAX_BODY_BYTES} байт"
        # Without a Content-Length the limit holds while reading.
        status, _, _ = server.request(
            "POST", "/api/v1/heartbeat", too_big, token=token, chunked=True
        )
        assert status == 413
        status, _, _ = server.request("POST", "/api/v1/heartbeat", exact, token=token, chunked=True)
        assert status == 204
        assert metric(server, "too_large") == 2


def test_unreachable_database_is_503(engine: Engine) -> None:
    """A database that refuses connections (a closed loopback port) answers 503, not 500."""
    dead = create_engine("postgresql+psycopg://kontur@127.0.0.1:1/kontur?connect_timeout=2")
    try:
        with ServerThread(dead) as server:
            status, headers, raw = server.request(
                "POST", "/api/v1/heartbeat", json.dumps(heartbeat_payload()).encode(), token=BOGUS
            )
    finally:
        dead.dispose()
    assert status == 503
    assert headers["Retry-After"] == "30"
    assert json.loads(raw)["error"] == "unavailable"


# --- any JSON object: 204 or 400, never 500 ---------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["2027-01-10", "10.01.2027", "2026-11-23T12:00:00+03:00", "/", ""])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "hostname",
    "token_name",
    "uptime_s",
    "agent_version",
    "vipnet",
    "disk",
    "memory",
    "sent_at",
    "vipnet.service_active",
    "vipnet.keys_valid_until",
    "disk.0.mount",
    "disk.0.free_bytes",
    "memory.total_bytes",
]


def _mutate(payload: dict[str, Any], path: str, value: Any, delete: bool) -> dict[str, Any]:
    target: Any = payload
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if delete and isinstance(target, dict):
        target.pop(last, None)
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return payload


mutated_payloads = st.builds(
    _mutate,
    st.builds(heartbeat_payload),
    st.sampled_from(FIELDS),
    json_values,
    st.booleans(),
)
any_objects = st.dictionaries(
    st.sampled_from([*FIELDS[:8], "extra"]) | st.text(max_size=12), json_values, max_size=8
)


@pytest.fixture
def server(engine: Engine, token: str) -> Iterator[tuple[ServerThread, str]]:
    with ServerThread(engine) as running:
        yield running, token


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=mutated_payloads | any_objects)
def test_any_json_object_is_accepted_or_400(
    server: tuple[ServerThread, str], body: dict[str, Any]
) -> None:
    running, token = server
    status, answer = running.post(body, token)
    event(f"HTTP {status}")
    assert status in (204, 400), answer
    if status == 204:
        Heartbeat.model_validate_json(json.dumps(body))
    else:
        assert answer["error"] in ("bad_json", "invalid_payload")
        assert answer["message"]
