"""The collector's HTTP endpoint: ``/healthz``, ``/metrics`` and the agents' heartbeat push.

``POST /api/v1/heartbeat`` takes a JSON :class:`Heartbeat` (at most 64 KiB) with
``Authorization: Bearer <agent token>``. Answers::

    204  stored (the latest heartbeat per token is kept in ``agent_heartbeat``)
    400  the body is not JSON or not a valid heartbeat (the problems are listed)
    401  no, unknown or revoked token (audited as ``deny``, at most once a minute per source and
         reason; the presented token is never stored or logged)
    413  the body is larger than 64 KiB
    503  the database could not be reached (the agent retries with backoff)

Everything touching the database runs in a worker thread, so the event loop only parses and
routes. ``/metrics`` renders the injected Prometheus registry (also in a thread: custom collectors
may query the database); it is open by default (the collector listens on loopback) and takes an
optional bearer token. The app adds ``kontur_agent_heartbeats_total{result}`` to the registry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import inspect
import json
import logging
import re
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from cmdb.agent_tokens import (
    NAME_PATTERN,
    DenyReason,
    check_token,
    record_denial,
    record_heartbeat,
)
from cmdb.choices import ObjectKind
from cmdb.types import utcnow
from collectors.settings import CollectorSettings

logger = logging.getLogger(__name__)

HEARTBEAT_PATH: Final = "/api/v1/heartbeat"
#: The largest heartbeat body accepted, in bytes.
MAX_BODY_BYTES: Final = 64 * 1024
HOSTNAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$"
HOSTNAME_RE: Final = re.compile(HOSTNAME_PATTERN)
#: Results counted in ``kontur_agent_heartbeats_total``.
RESULTS: Final = ("accepted", "unauthorized", "invalid", "too_large", "unavailable")

#: User-facing messages: key → (Russian, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "unauthorized.missing": (
        "нужен заголовок Authorization: Bearer <токен агента>",
        "an Authorization: Bearer <agent token> header is required",
    ),
    "unauthorized.malformed": ("токен агента имеет неверный вид", "the agent token is malformed"),
    "unauthorized.unknown": ("неизвестный токен агента", "unknown agent token"),
    "unauthorized.revoked": ("токен агента отозван", "the agent token has been revoked"),
    "too_large": (
        "тело запроса больше {limit} байт",
        "the request body is larger than {limit} bytes",
    ),
    "bad_json": (
        "тело запроса не является JSON: {detail}",
        "the request body is not JSON: {detail}",
    ),
    "invalid": (
        "неверные данные heartbeat: ошибок {count}",
        "invalid heartbeat: {count} problem(s)",
    ),
    "unavailable": (
        "база данных недоступна, повторите позже",
        "the database is unavailable, retry later",
    ),
    "metrics.unauthorized": (
        "для /metrics нужен заголовок Authorization: Bearer <токен>",
        "/metrics requires an Authorization: Bearer <token> header",
    ),
}


def _m(locale: str, key: str, /, **params: Any) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


# --- the heartbeat payload --------------------------------------------------------------------


def _plain_text(value: str) -> str:
    """Refuse control characters and unencodable text (both would break storage or display)."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError("control characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("not valid Unicode") from exc
    return value


Text = Annotated[str, AfterValidator(_plain_text)]
ByteCount = Annotated[int, Field(ge=0, le=2**63 - 1)]


class _Model(BaseModel):
    # Unknown fields are ignored (a newer agent may send more); present ones are checked strictly.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, allow_inf_nan=False)


class VipnetState(_Model):
    """The ViPNet client as the agent saw it; None where it could not tell."""

    service_active: bool | None = None
    process_running: bool | None = None
    keys_valid_until: dt.date | None = None
    certificate_valid_until: dt.date | None = None


class DiskUsage(_Model):
    """One mounted file system."""

    mount: Annotated[Text, Field(min_length=1, max_length=1024)]
    total_bytes: ByteCount
    free_bytes: ByteCount

    @model_validator(mode="after")
    def _free_within_total(self) -> DiskUsage:
        if self.free_bytes > self.total_bytes:
            raise ValueError("free_bytes exceeds total_bytes")
        return self


class MemoryUsage(_Model):
    """Physical memory."""

    total_bytes: ByteCount
    available_bytes: ByteCount

    @model_validator(mode="after")
    def _available_within_total(self) -> MemoryUsage:
        if self.available_bytes > self.total_bytes:
            raise ValueError("available_bytes exceeds total_bytes")
        return self


class Heartbeat(_Model):
    """What ``kontur-agent`` pushes."""

    hostname: Annotated[str, Field(pattern=HOSTNAME_PATTERN)]
    #: The token's name as the agent was told it (optional; names a refused attempt in the audit).
    token_name: Annotated[str, Field(pattern=NAME_PATTERN.pattern)] | None = None
    uptime_s: Annotated[float, Field(ge=0)]
    agent_version: Annotated[Text, Field(min_length=1, max_length=64)]
    vipnet: VipnetState = VipnetState()
    disk: Annotated[list[DiskUsage], Field(max_length=64)] = []
    memory: MemoryUsage | None = None
    sent_at: AwareDatetime


#: Called for every accepted heartbeat: (token name, object kind, object key, heartbeat,
#: received at). It runs on the event loop: keep it short, or return an awaitable.
HeartbeatCallback = Callable[[str, str, str, Heartbeat, dt.datetime], Awaitable[None] | None]


# --- state, metrics --------------------------------------------------------------------------


class HeartbeatStats(Collector):
    """``kontur_agent_heartbeats_total{result}``: pushes received, by how they were answered."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            "kontur_agent_heartbeats",
            "Agent heartbeat pushes received, by result.",
            labels=["result"],
        )
        for result in RESULTS:
            family.add_metric([result], float(self.counts[result]))
        yield family


@dataclass
class _DenyLimiter:
    """At most one audited denial per (source, reason, revoked token) per ``interval_s``.

    Every denial is answered 401 and counted; only the journal is spared a flood.
    """

    interval_s: float
    max_keys: int = 10_000
    last: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def allow(self, key: tuple[str, str, str], now: float) -> bool:
        if self.interval_s <= 0:
            return True
        seen = self.last.get(key)
        if seen is not None and now - seen < self.interval_s:
            return False
        if len(self.last) >= self.max_keys:
            self.last = {k: t for k, t in self.last.items() if now - t < self.interval_s}
            if len(self.last) >= self.max_keys:
                self.last.clear()
        self.last[key] = now
        return True


@dataclass
class _State:
    engine: Engine
    settings: CollectorSettings
    registry: CollectorRegistry
    on_heartbeat: HeartbeatCallback | None
    metrics_token: str | None
    locale: str
    stats: HeartbeatStats
    denials: _DenyLimiter
    mismatch_warned: set[str] = field(default_factory=set)


STATE: Final = web.AppKey("kontur_http_state", _State)


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    body = {"error": code, "message": message, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.json_response(body, status=status, headers=headers)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def _claims(body: bytes) -> tuple[str | None, str | None]:
    """The token name and hostname a (possibly invalid) body claims, for the audit journal."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    name, host = data.get("token_name"), data.get("hostname")
    name = name if isinstance(name, str) and NAME_PATTERN.fullmatch(name) else None
    host = host if isinstance(host, str) and HOSTNAME_RE.fullmatch(host) else None
    return name, host


# --- handlers -----------------------------------------------------------------------------------


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.metrics_token is not None:
        presented = _bearer(request) or ""
        if not hmac.compare_digest(presented.encode(), state.metrics_token.encode()):
            return _error(401, "unauthorized", _m(state.locale, "metrics.unauthorized"))
    output = await asyncio.to_thread(generate_latest, state.registry)
    response = web.Response(body=output)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


async def _heartbeat(request: web.Request) -> web.Response:
    state = request.app[STATE]
    locale, stats = state.locale, state.stats
    received_at = utcnow()
    remote = request.remote
    too_large = _error(
        413, "too_large", _m(locale, "too_large", limit=MAX_BODY_BYTES), limit=MAX_BODY_BYTES
    )
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        stats.counts["too_large"] += 1
        return too_large
    try:
        # client_max_size stops reading just past the limit (its bound differs between aiohttp
        # versions, hence the explicit check as well).
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        body = None
    if body is None or len(body) > MAX_BODY_BYTES:
        stats.counts["too_large"] += 1
        return too_large

    token = _bearer(request)
    try:
        check = await asyncio.to_thread(check_token, state.engine, token, now=received_at)
        if check.row is None:
            assert check.reason is not None
            stats.counts["unauthorized"] += 1
            await _deny(state, body, remote, check.reason, check.name)
            return _error(401, "unauthorized", _m(locale, f"unauthorized.{check.reason}"))
    except OperationalError as exc:
        logger.error("database unavailable while checking an agent token: %s", exc.orig or exc)
        stats.counts["unavailable"] += 1
        return _unavailable(locale)
    row = check.row

    try:
        heartbeat = Heartbeat.model_validate_json(body)
    except ValidationError as exc:
        stats.counts["invalid"] += 1
        return _invalid(exc, locale)

    payload = heartbeat.model_dump(mode="json")
    try:
        await asyncio.to_thread(
            record_heartbeat,
            state.engine,
            row.name,
            payload=payload,
            received_at=received_at,
            remote_addr=remote,
        )
    except OperationalError as exc:
        logger.error(
            "database unavailable while storing a heartbeat of %s: %s", row.name, exc.orig or exc
        )
        stats.counts["unavailable"] += 1
        return _unavailable(locale)
    stats.counts["accepted"] += 1
    if (
        row.object_kind == ObjectKind.WORKSTATION
        and heartbeat.hostname.split(".")[0].lower() != row.object_key.split(".")[0].lower()
        and row.name not in state.mismatch_warned
    ):
        state.mismatch_warned.add(row.name)  # once per token and process: it repeats every push
        logger.warning(
            "agent token %s is bound to workstation %s but the agent reports hostname %s",
            row.name,
            row.object_key,
            heartbeat.hostname,
        )
    logger.debug(
        "heartbeat of %s (%s %s) from %s", row.name, row.object_kind, row.object_key, remote
    )
    if state.on_heartbeat is not None:
        try:
            result = state.on_heartbeat(
                row.name, row.object_kind, row.object_key, heartbeat, received_at
            )
            if inspect.isawaitable(result):
                await result
        except Exception:
            # The heartbeat is stored; a failing consumer must not make the agent retry it.
            logger.exception("on_heartbeat failed for agent token %s", row.name)
    return web.Response(status=204)


async def _deny(
    state: _State, body: bytes, remote: str | None, reason: DenyReason, real_name: str | None
) -> None:
    claimed_name, claimed_host = _claims(body)
    # A revoked token's own name is known (names are not secrets) and says more than a claim.
    key_name = real_name or claimed_name
    # Claimed names are the client's to vary, so they do not open new slots in the limiter.
    if not state.denials.allow((remote or "", reason, real_name or ""), time.monotonic()):
        logger.debug("agent refused (%s) from %s; audit suppressed (rate limit)", reason, remote)
        return
    logger.warning("agent refused (%s) from %s, claimed name %s", reason, remote, claimed_name)
    detail: dict[str, Any] = {}
    if claimed_name is not None:
        detail["claimed_name"] = claimed_name
    if claimed_host is not None:
        detail["claimed_hostname"] = claimed_host
    await asyncio.to_thread(
        record_denial,
        state.engine,
        claimed_name=key_name,
        remote_addr=remote,
        reason=reason,
        detail=detail,
    )


def _unavailable(locale: str) -> web.Response:
    response = _error(503, "unavailable", _m(locale, "unavailable"))
    response.headers["Retry-After"] = "30"
    return response


def _invalid(exc: ValidationError, locale: str) -> web.Response:
    errors = exc.errors(include_input=False, include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        detail = str(errors[0].get("ctx", {}).get("error", errors[0]["msg"]))
        return _error(400, "bad_json", _m(locale, "bad_json", detail=detail))
    problems = [
        {"loc": ".".join(str(p) for p in err["loc"]) or "(body)", "msg": err["msg"]}
        for err in errors[:20]
    ]
    return _error(
        400, "invalid_payload", _m(locale, "invalid", count=len(errors)), problems=problems
    )


# --- the app ----------------------------------------------------------------------------------


def create_app(
    engine: Engine,
    settings: CollectorSettings,
    registry: CollectorRegistry,
    on_heartbeat: HeartbeatCallback | None = None,
    *,
    metrics_token: str | None = None,
    locale: str = "ru",
    deny_audit_interval_s: float = 60.0,
) -> web.Application:
    """The collector's HTTP app; its heartbeat counters are registered in ``registry``.

    ``metrics_token``: require ``Authorization: Bearer <metrics_token>`` on ``/metrics``.
    ``deny_audit_interval_s``: audit at most one refusal per source, reason and name in this
    many seconds (0: audit every one).
    """
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1)
    stats = HeartbeatStats()
    registry.register(stats)
    app[STATE] = _State(
        engine=engine,
        settings=settings,
        registry=registry,
        on_heartbeat=on_heartbeat,
        metrics_token=metrics_token or None,
        locale=locale,
        stats=stats,
        denials=_DenyLimiter(deny_audit_interval_s),
    )

    async def _unregister(app: web.Application) -> None:
        registry.unregister(stats)

    app.on_cleanup.append(_unregister)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.router.add_post(HEARTBEAT_PATH, _heartbeat)
    return app


async def start_server(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host:port`` (0: any free port); returns the runner and the bound port.

    Stop with ``await runner.cleanup()``.
    """
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0]
    return runner, int(bound[1])
