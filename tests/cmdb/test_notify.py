"""Notifications through a real SMTP server (aiosmtpd) and a real webhook receiver (aiohttp).

Each notice is delivered once per channel and recorded in ``notification_sent``, even when two
runs race (each claims before sending); a failed delivery releases its claims and goes out on the
next run; a crashed run's claims are taken over after the claim timeout. Secrets never reach the
output or the log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import socket
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session as OrmSession

from cmdb import notify
from cmdb.calendars import add_evidence
from cmdb.db import make_engine
from cmdb.errors import ConfigError
from cmdb.models import MaintenanceWindow, NotificationSent, NotifyChannel, StatusTransition
from cmdb.notify import RunResult, already_sent, collect, long_outages, run, sent_log
from cmdb.settings import CmdbSettings, NotifySettings, load_settings
from tests.cmdb.test_calendars import CP_CODE, Kontur, kontur, load_demo_compliance

__all__ = ["kontur"]  # the fixture, shared with the calendar tests

MSK = ZoneInfo("Europe/Moscow")
#: 23.11.2026 12:00 in Krasnodar (09:00 UTC).
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=MSK)
PASSWORD = "smtp-s3cret-pw"
TOKEN = "hook-t0ken-xyz"

EXPECTED_KEYS = {
    "expiry:attestation:АС-23-2022-001:2025-12-16:expired",
    "expiry:vipnet_keys:0x07c40001:2027-01-10:expiring_90",
    "expiry:vipnet_keys:0x07c40002:2027-02-01:expiring_90",
    "expiry:vipnet_certificate:0x07c40002:2027-02-01:expiring_90",
    "cp:1.1.2.3.4:2026-11-15:overdue",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- a real SMTP server --------------------------------------------------------------------------


@dataclass
class Inbox:
    """An aiosmtpd handler keeping what it was given."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in self.envelopes:
            content = envelope.original_content or envelope.content
            assert isinstance(content, bytes)
            msg = message_from_bytes(content, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            parsed.append(msg)
        return parsed


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


def email_settings(port: int, **extra: Any) -> NotifySettings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_from": "kontur@miac.example",
        "smtp_to": ["duty@miac.example", "security@miac.example"],
        "smtp_timeout_s": 5,
    }
    values.update(extra)
    return NotifySettings(**values)


# --- a real webhook receiver ---------------------------------------------------------------------


class Receiver:
    """An aiohttp app on 127.0.0.1 (own loop, own thread) that checks the bearer token."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.payloads: list[dict[str, Any]] = []
        self.requests = 0
        #: answer with this status instead of accepting
        self.fail_with: int | None = None
        #: wait this long before answering
        self.delay_s = 0.0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kontur-webhook-test", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/kontur"

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=401)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with is not None:
            if 300 <= self.fail_with < 400:
                raise web.HTTPTemporaryRedirect("/elsewhere")
            return web.Response(status=self.fail_with)
        assert request.content_type == "application/json"
        self.payloads.append(await request.json())
        return web.Response(status=204)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_post("/hooks/kontur", self._hook)
        app.router.add_post("/elsewhere", self._hook)
        runner = web.AppRunner(app, shutdown_timeout=1)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        self.port = runner.addresses[0][1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def __enter__(self) -> Receiver:
        self._thread.start()
        assert self._ready.wait(10)
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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def webhook_settings(url: str, token: str = TOKEN, **extra: Any) -> NotifySettings:
    values: dict[str, Any] = {
        "webhook_url": url,
        "webhook_token": SecretStr(token),
        "webhook_timeout_s": 5,
    }
    values.update(extra)
    return NotifySettings(**values)


# --- data ----------------------------------------------------------------------------------------


@pytest.fixture
def world(engine: Engine) -> Engine:
    load_demo_compliance(engine)
    return engine


def sent_rows(engine: Engine) -> list[tuple[str, str]]:
    """Every (key, channel) row, claims included: a failed run must leave none behind."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(NotificationSent.key, NotificationSent.channel).order_by(NotificationSent.key)
        )
        return [(key, channel) for key, channel in rows]


def row_states(engine: Engine) -> dict[tuple[str, str], str]:
    """(key, channel) → 'sending' or 'sent'."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(NotificationSent.key, NotificationSent.channel, NotificationSent.state)
        )
        return {(key, channel): state for key, channel, state in rows}


def backdate_claims(engine: Engine, keys: set[str], seconds: float) -> None:
    """Make the claims of ``keys`` look ``seconds`` old (as if their run stalled or died)."""
    with engine.begin() as conn:
        conn.execute(
            update(NotificationSent)
            .where(NotificationSent.key.in_(keys))
            .values(claimed_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds))
        )


def utc(hour: int, minute: int = 0, day: int = 23) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def add_transitions(engine: Engine, *rows: tuple[str, str, str, dt.datetime, str]) -> None:
    """Ledger rows (kind, key, vantage, at, state)."""
    with OrmSession(engine) as session, session.begin():
        session.add_all(
            StatusTransition(object_kind=k, object_key=key, vantage=v, at=at, state=s, reason="t")
            for k, key, v, at, s in rows
        )


# --- what is notified ----------------------------------------------------------------------------


def test_collect_finds_expiries_and_overdue_control_points(world: Engine) -> None:
    notices = collect(world, NotifySettings(), now=NOW, zone=MSK, locale="ru")
    assert {n.key for n in notices} == EXPECTED_KEYS
    expired = next(n for n in notices if n.category == "expiry" and "АС-23-2022-001" in n.key)
    assert "просрочен на 342 дн." in expired.text
    assert "16.12.2025" in expired.text
    overdue = next(n for n in notices if n.category == "control_point")
    assert "15.11.2026" in overdue.text
    assert "01.10.2026–31.10.2026" in overdue.text
    # Evidence attached: the occurrence is done and no longer notified.
    add_evidence(world, CP_CODE, dt.date(2026, 11, 15), "Акт № 12", actor="tester")
    keys = {n.key for n in collect(world, NotifySettings(), now=NOW, zone=MSK)}
    assert keys == EXPECTED_KEYS - {"cp:1.1.2.3.4:2026-11-15:overdue"}
    # Thresholds (60, 14): the 48-day key set is in the 60-day band, the 70-day ones are fine.
    custom = NotifySettings(expiry_days=(60, 14))
    keys = {n.key for n in collect(world, custom, now=NOW, zone=MSK) if n.category == "expiry"}
    assert keys == {
        "expiry:attestation:АС-23-2022-001:2025-12-16:expired",
        "expiry:vipnet_keys:0x07c40001:2027-01-10:expiring_60",
    }


def test_outage_threshold_picks_only_long_outages(world: Engine) -> None:
    add_transitions(
        world,
        # 10 minutes down: too short for the 30-minute threshold.
        ("channel", "CH-FAP-0001-1", "dc-primary", utc(5), "down"),
        ("channel", "CH-FAP-0001-1", "dc-primary", utc(5, 10), "up"),
        # 65 minutes down, then back up.
        ("channel", "CH-FAP-0001-1", "dc-primary", utc(6), "down"),
        ("channel", "CH-FAP-0001-1", "dc-primary", utc(7, 5), "up"),
        # The same channel from the reserve DC: down 29 minutes, then unknown (a gap).
        ("channel", "CH-FAP-0001-1", "dc-reserve", utc(6), "down"),
        ("channel", "CH-FAP-0001-1", "dc-reserve", utc(6, 29), "unknown"),
        # Down since 08:15 and still down at 09:00 (NOW): 45 minutes so far.
        ("device", "fap-0001-rtr", "dc-primary", utc(8, 15), "down"),
        # Down 40 minutes, 30 of them inside a maintenance window of that device.
        ("device", "dc-rtr1", "dc-primary", utc(1), "down"),
        ("device", "dc-rtr1", "dc-primary", utc(1, 40), "up"),
        # Down 2 hours, but 40 days ago: beyond the look-back.
        ("site", "FAP-0001", "dc-primary", utc(1, day=13) - dt.timedelta(days=30), "down"),
        ("site", "FAP-0001", "dc-primary", utc(3, day=13) - dt.timedelta(days=30), "up"),
    )
    with OrmSession(world) as session, session.begin():
        session.add(
            MaintenanceWindow(
                key="MW-1",
                objects=[{"kind": "device", "key": "dc-rtr1"}],
                starts_at=utc(0, 50),
                ends_at=utc(1, 30),
                reason="замена блока питания",
            )
        )
    outages = long_outages(world, NOW, dt.timedelta(minutes=30), NOW - dt.timedelta(days=30))
    assert [(o.kind, o.key, o.vantage, o.down) for o in outages] == [
        ("channel", "CH-FAP-0001-1", "dc-primary", dt.timedelta(minutes=65)),
        ("device", "fap-0001-rtr", "dc-primary", dt.timedelta(minutes=45)),
    ]
    notices = [
        n for n in collect(world, NotifySettings(), now=NOW, zone=MSK) if n.category == "outage"
    ]
    assert [n.key for n in notices] == [
        "outage:channel:CH-FAP-0001-1:dc-primary:2026-11-23T06:00:00+00:00",
        "outage:device:fap-0001-rtr:dc-primary:2026-11-23T08:15:00+00:00",
    ]
    assert notices[0].text == (
        "канал CH-FAP-0001-1 (точка наблюдения dc-primary) не работал с 23.11.2026 09:00:00 "
        "по 23.11.2026 10:05:00: 65 мин"
    )
    assert "не работает с 23.11.2026 11:15:00: уже 45 мин" in notices[1].text
    # A 20-minute threshold also picks the reserve DC's 29 minutes and the 10 outside maintenance
    # does not reach it.
    shorter = long_outages(world, NOW, dt.timedelta(minutes=20), NOW - dt.timedelta(days=30))
    assert [(o.vantage, o.key) for o in shorter] == [
        ("dc-primary", "CH-FAP-0001-1"),
        ("dc-reserve", "CH-FAP-0001-1"),
        ("dc-primary", "fap-0001-rtr"),
    ]


# --- e-mail --------------------------------------------------------------------------------------


def test_email_is_sent_once_and_recorded(world: Engine, smtp_server: SmtpServer) -> None:
    settings = email_settings(smtp_server.port)
    result = run(world, settings, now=NOW, zone=MSK)
    assert result.ok
    [channel] = result.channels
    assert channel.delivered
    assert {n.key for n in channel.pending} == EXPECTED_KEYS
    [envelope] = smtp_server.inbox.envelopes
    assert envelope.mail_from == "kontur@miac.example"
    assert envelope.rcpt_tos == ["duty@miac.example", "security@miac.example"]
    [msg] = smtp_server.inbox.messages
    assert msg["Subject"] == ("Kontur: 5 уведомлений — сроки: 4, контрольные точки: 1")
    assert msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert "Kontur — уведомления на 23.11.2026 12:00:00" in body
    assert "аттестат АС-23-2022-001" in body
    assert "просрочен на 342 дн. (до 16.12.2025)" in body
    assert "контрольная точка 1.1.2.3.4" in body
    assert "просрочен срок 15.11.2026" in body
    assert sent_rows(world) == sorted((key, "email") for key in EXPECTED_KEYS)
    # The second run has nothing new to say.
    again = run(world, settings, now=NOW + dt.timedelta(hours=1), zone=MSK)
    assert again.ok
    assert again.channels[0].pending == []
    assert not again.channels[0].delivered
    assert len(smtp_server.inbox.envelopes) == 1
    # 20 days later the coordinator's keys cross into the 30-day band: only that is new.
    later = run(world, settings, now=NOW + dt.timedelta(days=20), zone=MSK)
    assert [n.key for n in later.channels[0].pending] == [
        "expiry:vipnet_keys:0x07c40001:2027-01-10:expiring_30"
    ]
    assert len(smtp_server.inbox.envelopes) == 2
    assert smtp_server.inbox.messages[1]["Subject"] == "Kontur: 1 уведомление — сроки: 1"


def test_email_in_english(world: Engine, smtp_server: SmtpServer) -> None:
    run(world, email_settings(smtp_server.port), now=NOW, zone=MSK, locale="en")
    [msg] = smtp_server.inbox.messages
    assert msg["Subject"] == "Kontur: 5 notifications — expiries: 4, control points: 1"
    assert "expired 342 days ago" in msg.get_content()


def test_unreachable_smtp_is_retried_next_run(
    world: Engine, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    closed = free_port()
    failed = run(world, email_settings(closed), now=NOW, zone=MSK)
    assert not failed.ok
    assert failed.channels[0].error is not None
    assert f"127.0.0.1:{closed}" in failed.channels[0].error
    assert sent_rows(world) == []
    assert "will retry" in caplog.text
    retried = run(world, email_settings(smtp_server.port), now=NOW, zone=MSK)
    assert retried.ok
    assert len(sent_rows(world)) == len(EXPECTED_KEYS)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with openssl; (cert, key)."""
    cert, key = directory / "smtp.pem", directory / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(not Path("/usr/bin/openssl").exists(), reason="openssl is not installed")
def test_starttls_and_login(
    world: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import ssl

    cert, key = make_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bool]] = []

    def authenticator(
        server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = auth_data.login == b"kontur" and auth_data.password == PASSWORD.encode()
        logins.append((auth_data.login, ok))
        return AuthResult(success=ok, handled=False)

    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    try:
        caplog.set_level(logging.DEBUG)
        common = {"smtp_user": "kontur", "smtp_starttls": True}
        # The server's certificate is not trusted by the system: refused, nothing recorded.
        untrusted = run(
            world,
            email_settings(port, smtp_password=SecretStr(PASSWORD), **common),
            now=NOW,
            zone=MSK,
        )
        assert not untrusted.ok
        assert "CERTIFICATE_VERIFY_FAILED" in (untrusted.channels[0].error or "")
        # Trusted, with a wrong password: refused by the server, nothing recorded.
        wrong = run(
            world,
            email_settings(port, smtp_password=SecretStr("nope"), smtp_ca_file=cert, **common),
            now=NOW,
            zone=MSK,
        )
        assert not wrong.ok
        assert "SMTPAuthenticationError" in (wrong.channels[0].error or "")
        assert sent_rows(world) == []
        good = email_settings(port, smtp_password=SecretStr(PASSWORD), smtp_ca_file=cert, **common)
        assert run(world, good, now=NOW, zone=MSK).ok
    finally:
        controller.stop()
    # smtplib tries each offered mechanism in turn: the wrong password fails them all.
    results = [ok for _login, ok in logins]
    assert results[-1]
    assert not any(results[:-1])
    assert len(inbox.envelopes) == 1
    assert len(sent_rows(world)) == len(EXPECTED_KEYS)
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(good)


# --- webhook -------------------------------------------------------------------------------------


def test_webhook_posts_json_with_the_token_once(world: Engine, receiver: Receiver) -> None:
    settings = webhook_settings(receiver.url)
    result = run(world, settings, now=NOW, zone=MSK)
    assert result.ok
    assert result.channels[0].target == f"http://127.0.0.1:{receiver.port}"
    [payload] = receiver.payloads
    assert payload["source"] == "kontur"
    assert payload["count"] == len(EXPECTED_KEYS)
    assert {n["key"] for n in payload["notices"]} == EXPECTED_KEYS
    overdue = next(n for n in payload["notices"] if n["category"] == "control_point")
    assert overdue["code"] == CP_CODE
    assert overdue["due"] == "2026-11-15"
    assert overdue["period_start"] == "2026-10-01"
    expired = next(n for n in payload["notices"] if n.get("state") == "expired")
    assert expired["object"] == "АС-23-2022-001"
    assert expired["days_left"] == -342
    assert sent_rows(world) == sorted((key, "webhook") for key in EXPECTED_KEYS)
    assert run(world, settings, now=NOW, zone=MSK).channels[0].pending == []
    assert receiver.requests == 1


def test_failing_webhook_is_retried_next_run(
    world: Engine, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.fail_with = 500
    failed = run(world, webhook_settings(receiver.url), now=NOW, zone=MSK)
    assert not failed.ok
    assert failed.channels[0].error == f"http://127.0.0.1:{receiver.port}: HTTP 500"
    assert sent_rows(world) == []
    # A wrong token is refused by the receiver: also a failure, also retried.
    receiver.fail_with = None
    wrong_token = webhook_settings(receiver.url, token="wrong")
    wrong = run(world, wrong_token, now=NOW, zone=MSK)
    assert wrong.channels[0].error == f"http://127.0.0.1:{receiver.port}: HTTP 401"
    assert receiver.payloads == []
    # Fixed: everything goes out once.
    fixed = run(world, webhook_settings(receiver.url), now=NOW, zone=MSK)
    assert fixed.ok
    assert len(receiver.payloads) == 1
    assert {n["key"] for n in receiver.payloads[0]["notices"]} == EXPECTED_KEYS
    assert TOKEN not in caplog.text


def test_webhook_redirects_and_timeouts_fail(world: Engine, receiver: Receiver) -> None:
    receiver.fail_with = 307
    redirected = run(world, webhook_settings(receiver.url), now=NOW, zone=MSK)
    assert redirected.channels[0].error == f"http://127.0.0.1:{receiver.port}: HTTP 307"
    assert receiver.requests == 1  # the token was not carried to the redirect target
    receiver.fail_with = None
    receiver.delay_s = 2.0
    slow = run(world, webhook_settings(receiver.url, webhook_timeout_s=0.3), now=NOW, zone=MSK)
    assert not slow.ok
    assert "timed out" in (slow.channels[0].error or "")
    assert sent_rows(world) == []


def test_both_channels_are_independent(
    world: Engine, smtp_server: SmtpServer, receiver: Receiver
) -> None:
    receiver.fail_with = 503
    both = NotifySettings(
        **email_settings(smtp_server.port).model_dump(exclude_unset=True),
        webhook_url=receiver.url,
        webhook_token=SecretStr(TOKEN),
    )
    first = run(world, both, now=NOW, zone=MSK)
    assert [(c.channel.value, c.delivered) for c in first.channels] == [
        ("email", True),
        ("webhook", False),
    ]
    receiver.fail_with = None
    second = run(world, both, now=NOW, zone=MSK)
    assert [(c.channel.value, c.delivered, len(c.pending)) for c in second.channels] == [
        ("email", False, 0),
        ("webhook", True, len(EXPECTED_KEYS)),
    ]
    assert len(smtp_server.inbox.envelopes) == 1
    assert len(receiver.payloads) == 1


def test_dry_run_sends_and_records_nothing(world: Engine, smtp_server: SmtpServer) -> None:
    result = run(world, email_settings(smtp_server.port), now=NOW, zone=MSK, dry_run=True)
    assert {n.key for n in result.channels[0].pending} == EXPECTED_KEYS
    assert not result.channels[0].delivered
    assert smtp_server.inbox.envelopes == []
    assert sent_rows(world) == []


# --- claims: each notice once per channel, whatever runs overlap --------------------------------


def both_settings(smtp_port: int, webhook_url: str, **extra: Any) -> NotifySettings:
    return NotifySettings(
        **email_settings(smtp_port).model_dump(exclude_unset=True),
        webhook_url=webhook_url,
        webhook_token=SecretStr(TOKEN),
        **extra,
    )


def test_two_racing_runs_send_each_notice_once_per_channel(
    world: Engine,
    db_url: str,
    smtp_server: SmtpServer,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cron and a manual run at once: both read «nothing sent», only one claim per row wins."""
    settings = both_settings(smtp_server.port, receiver.url)
    barriers = {channel: threading.Barrier(2, timeout=15) for channel in NotifyChannel}
    reads: Counter[NotifyChannel] = Counter()
    waited: set[tuple[int, NotifyChannel]] = set()
    lock = threading.Lock()
    read_claims = notify._claims_of

    def racing(
        session: OrmSession, channel: NotifyChannel, keys: Any, stale_before: dt.datetime
    ) -> Any:
        rows = read_claims(session, channel, keys, stale_before)
        me = (threading.get_ident(), channel)
        with lock:
            reads[channel] += 1
            first = me not in waited
            waited.add(me)
        if first:
            # Both runs have read the channel's rows and found nothing: now both claim.
            barriers[channel].wait()
        return rows

    monkeypatch.setattr(notify, "_claims_of", racing)
    results: dict[str, RunResult] = {}
    errors: list[BaseException] = []

    def one_run(name: str) -> None:
        engine = make_engine(db_url)  # its own connections, as a second process would have
        try:
            results[name] = run(engine, settings, now=NOW, zone=MSK)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=one_run, args=(name,)) for name in ("cron", "manual")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert all(result.ok for result in results.values())
    # The SMTP server got one message and the webhook one POST, each with every notice once.
    [msg] = smtp_server.inbox.messages
    assert msg["Subject"] == "Kontur: 5 уведомлений — сроки: 4, контрольные точки: 1"
    [payload] = receiver.payloads
    assert sorted(n["key"] for n in payload["notices"]) == sorted(EXPECTED_KEYS)
    assert receiver.requests == 1
    # The race happened at claim time: per channel the loser's insert failed and it read again.
    assert reads == {NotifyChannel.EMAIL: 3, NotifyChannel.WEBHOOK: 3}
    for index in range(2):
        outcomes = sorted(
            (r.channels[index].delivered, len(r.channels[index].pending)) for r in results.values()
        )
        assert outcomes == [(False, 0), (True, len(EXPECTED_KEYS))]
    assert set(row_states(world).values()) == {"sent"}
    assert len(row_states(world)) == 2 * len(EXPECTED_KEYS)


def _killed_while_posting(*_args: Any) -> int:
    """A webhook delivery that never returns: the process dies in the middle of it."""
    raise RuntimeError("the process was killed while posting")


def test_a_crashed_runs_claims_are_taken_over_after_the_timeout(
    world: Engine,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = webhook_settings(receiver.url)
    assert settings.claim_timeout_s == 900
    post = notify.post_webhook

    monkeypatch.setattr(notify, "post_webhook", _killed_while_posting)
    with pytest.raises(RuntimeError):
        run(world, settings, now=NOW, zone=MSK)
    monkeypatch.setattr(notify, "post_webhook", post)
    # Its claims stay: nobody knows whether the POST went out.
    assert row_states(world) == {(key, "webhook"): "sending" for key in EXPECTED_KEYS}
    assert sent_log(world) == []
    assert already_sent(world, EXPECTED_KEYS) == set()
    # A run right after leaves fresh claims alone (the other run may still be delivering).
    after = run(world, settings, now=NOW, zone=MSK)
    assert after.ok
    assert after.channels[0].pending == []
    assert {n.key for n in after.channels[0].in_flight} == EXPECTED_KEYS
    preview = run(world, settings, now=NOW, zone=MSK, dry_run=True)
    assert preview.channels[0].pending == []
    assert receiver.requests == 0
    # Two claims are older than the 15-minute timeout, the others 14 minutes old.
    stale = {
        "expiry:attestation:АС-23-2022-001:2025-12-16:expired",
        "cp:1.1.2.3.4:2026-11-15:overdue",
    }
    backdate_claims(world, stale, 901)
    backdate_claims(world, EXPECTED_KEYS - stale, 840)
    preview = run(world, settings, now=NOW, zone=MSK, dry_run=True)
    assert {n.key for n in preview.channels[0].pending} == stale
    assert row_states(world) == {(key, "webhook"): "sending" for key in EXPECTED_KEYS}
    later = run(world, settings, now=NOW, zone=MSK)
    assert later.ok
    assert {n.key for n in later.channels[0].pending} == stale
    assert later.channels[0].taken_over == sorted(stale)
    assert {n.key for n in later.channels[0].in_flight} == EXPECTED_KEYS - stale
    [payload] = receiver.payloads
    assert {n["key"] for n in payload["notices"]} == stale
    assert "took over the stale claim" in caplog.text
    assert row_states(world) == {
        (key, "webhook"): "sent" if key in stale else "sending" for key in EXPECTED_KEYS
    }
    assert {rec.key for rec in sent_log(world)} == stale
    assert already_sent(world, EXPECTED_KEYS) == {(key, "webhook") for key in stale}
    # A shorter configured timeout: the 14-minute-old claims are stale too.
    shorter = webhook_settings(receiver.url, claim_timeout_s=600)
    last = run(world, shorter, now=NOW, zone=MSK)
    assert {n.key for n in last.channels[0].pending} == EXPECTED_KEYS - stale
    assert len(receiver.payloads) == 2
    assert set(row_states(world).values()) == {"sent"}


def test_a_failed_delivery_releases_its_claims(
    world: Engine, smtp_server: SmtpServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.fail_with = 502
    settings = both_settings(smtp_server.port, receiver.url)
    states_while_posting: list[dict[tuple[str, str], str]] = []
    post = notify.post_webhook

    def watched(*args: Any) -> int:
        states_while_posting.append(row_states(world))
        return post(*args)

    monkeypatch.setattr(notify, "post_webhook", watched)
    first = run(world, settings, now=NOW, zone=MSK)
    assert [(c.channel.value, c.delivered, c.error is None) for c in first.channels] == [
        ("email", True, True),
        ("webhook", False, False),
    ]
    # While posting, the webhook rows were this run's claims; after the failure they are gone.
    [during] = states_while_posting
    assert {k: v for k, v in during.items() if k[1] == "webhook"} == {
        (key, "webhook"): "sending" for key in EXPECTED_KEYS
    }
    assert row_states(world) == {(key, "email"): "sent" for key in EXPECTED_KEYS}
    # So the very next run (no waiting for a timeout) delivers them.
    receiver.fail_with = None
    second = run(world, settings, now=NOW, zone=MSK)
    assert [(c.delivered, len(c.pending)) for c in second.channels] == [
        (False, 0),
        (True, len(EXPECTED_KEYS)),
    ]
    assert len(receiver.payloads) == 1
    assert len(smtp_server.inbox.envelopes) == 1


def test_a_delivery_outliving_the_timeout_may_repeat_once(
    world: Engine,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The documented limit: past the claim timeout, delivery is at least once, not exactly."""
    settings = webhook_settings(receiver.url)
    post = notify.post_webhook
    second: list[RunResult] = []

    def stalled(*args: Any) -> int:
        # This run stalls past the timeout; meanwhile another run takes its claims over.
        monkeypatch.setattr(notify, "post_webhook", post)
        backdate_claims(world, EXPECTED_KEYS, 901)
        second.append(run(world, settings, now=NOW, zone=MSK))
        return post(*args)

    monkeypatch.setattr(notify, "post_webhook", stalled)
    first = run(world, settings, now=NOW, zone=MSK)
    assert first.channels[0].delivered
    assert second[0].channels[0].delivered
    assert second[0].channels[0].taken_over == sorted(EXPECTED_KEYS)
    assert len(receiver.payloads) == 2
    assert "taken over by another run while delivering" in caplog.text
    assert set(row_states(world).values()) == {"sent"}


# --- settings and the command --------------------------------------------------------------------


def test_notify_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_HOST", "mail.miac.example")
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_FROM", "kontur@miac.example")
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_TO", "duty@miac.example, security@miac.example")
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_USER", "kontur")
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("KONTUR_NOTIFY__WEBHOOK_URL", "https://hooks.example/path/s3cr3t")
    monkeypatch.setenv("KONTUR_NOTIFY__WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("KONTUR_NOTIFY__OUTAGE_MINUTES", "15")
    settings = CmdbSettings(_env_file=None)
    assert settings.notify.smtp_to == ["duty@miac.example", "security@miac.example"]
    assert settings.notify.outage_minutes == 15
    assert settings.notify.email_enabled
    assert settings.notify.webhook_enabled
    assert PASSWORD not in repr(settings)
    assert TOKEN not in str(settings)
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_TO", "")
    with pytest.raises(ConfigError, match="SMTP_TO"):
        load_settings()
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_TO", "duty@miac.example")
    monkeypatch.setenv("KONTUR_NOTIFY__WEBHOOK_URL", "ftp://hooks.example/")
    with pytest.raises(ConfigError, match="KONTUR_NOTIFY__WEBHOOK_URL"):
        load_settings()


def test_claim_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONTUR_NOTIFY__CLAIM_TIMEOUT_S", "1800")
    assert CmdbSettings(_env_file=None).notify.claim_timeout_s == 1800
    monkeypatch.setenv("KONTUR_NOTIFY__CLAIM_TIMEOUT_S", "30")
    with pytest.raises(ConfigError, match="KONTUR_NOTIFY__CLAIM_TIMEOUT_S"):
        load_settings()
    # A claim must outlive the slowest delivery, or a second run would send it again.
    with pytest.raises(ValidationError, match="at least 180 s"):
        NotifySettings(claim_timeout_s=120, smtp_timeout_s=30)
    assert NotifySettings(claim_timeout_s=180, webhook_timeout_s=30).claim_timeout_s == 180


def test_cli_notify_run_prints_what_it_sends(
    kontur: Kontur,
    cli_env: str,
    smtp_server: SmtpServer,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cmdb.db import make_engine

    engine = make_engine(cli_env)
    load_demo_compliance(engine)
    code, _out, err = kontur("notify", "run")
    assert code == 2
    assert "KONTUR_NOTIFY__SMTP_HOST" in err
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_FROM", "kontur@miac.example")
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_TO", "duty@miac.example")
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_USER", "kontur")
    monkeypatch.setenv("KONTUR_NOTIFY__SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("KONTUR_NOTIFY__WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("KONTUR_NOTIFY__WEBHOOK_TOKEN", TOKEN)
    # The test server offers no AUTH: leave the login out for the real runs below.
    monkeypatch.delenv("KONTUR_NOTIFY__SMTP_USER")
    monkeypatch.delenv("KONTUR_NOTIFY__SMTP_PASSWORD")
    code, out, _ = kontur("notify", "run", "--dry-run")
    assert code == 0
    assert "пробный прогон: ничего не отправлено и не записано" in out
    assert f"эл. почта (127.0.0.1:{smtp_server.port} → duty@miac.example)" in out
    assert "будет отправлено" in out
    assert smtp_server.inbox.envelopes == []
    # What is due now, by the real clock the command runs on.
    expected = {
        n.key for n in collect(engine, NotifySettings(), now=dt.datetime.now(MSK), zone=MSK)
    }
    assert "expiry:attestation:АС-23-2022-001:2025-12-16:expired" in expected
    receiver.fail_with = 500
    code, out, err = kontur("notify", "run")
    assert code == 1
    assert (
        f"эл. почта (127.0.0.1:{smtp_server.port} → duty@miac.example): отправлено {len(expected)}"
        in out
    )
    assert all(key in out for key in expected)
    assert "вебхук: ошибка отправки" in err
    assert "HTTP 500" in err
    assert "не отмечено как отправленное, повтор при следующем запуске" in err
    assert len(smtp_server.inbox.envelopes) == 1
    receiver.fail_with = None
    code, out, err = kontur("notify", "run")
    assert code == 0, err
    assert "эл. почта (127.0.0.1" in out
    assert "новых нет" in out
    assert f"вебхук (http://127.0.0.1:{receiver.port}): отправлено {len(expected)}" in out
    assert len(smtp_server.inbox.envelopes) == 1
    assert len(receiver.payloads) == 1
    code, out, _ = kontur("notify", "log")
    assert code == 0
    assert "expiry:attestation:АС-23-2022-001" in out
    assert "вебхук" in out
    for text in (out, err):
        assert PASSWORD not in text
        assert TOKEN not in text
    assert sorted(sent_rows(engine)) == sorted(
        [(key, "email") for key in expected] + [(key, "webhook") for key in expected]
    )
    engine.dispose()


def test_cli_notify_run_says_when_another_run_holds_the_notices(
    kontur: Kontur,
    cli_env: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = make_engine(cli_env)
    load_demo_compliance(engine)
    monkeypatch.setenv("KONTUR_NOTIFY__WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("KONTUR_NOTIFY__WEBHOOK_TOKEN", TOKEN)
    post = notify.post_webhook

    # A run by the real clock dies mid-delivery: its claims stay "sending".
    monkeypatch.setattr(notify, "post_webhook", _killed_while_posting)
    with pytest.raises(RuntimeError):
        run(engine, webhook_settings(receiver.url), now=dt.datetime.now(MSK), zone=MSK)
    monkeypatch.setattr(notify, "post_webhook", post)
    held = {key for (key, _channel) in row_states(engine)}
    assert held
    code, out, err = kontur("notify", "run")
    assert code == 0, err
    assert f"{len(held)} отправляется другим запуском, здесь не повторяется" in out
    assert "новых нет" not in out
    assert receiver.requests == 0
    # Past the claim timeout the next run takes them over and says they may go out twice.
    backdate_claims(engine, held, 901)
    code, out, err = kontur("notify", "run")
    assert code == 0, err
    assert f"отправлено {len(held)}" in out
    assert "взяты у прерванного запуска (могли уйти повторно):" in out
    assert all(key in out for key in held)
    assert receiver.requests == 1
    engine.dispose()


def test_webhook_json_is_utf8(receiver: Receiver, world: Engine) -> None:
    run(world, webhook_settings(receiver.url), now=NOW, zone=MSK)
    text = json.dumps(receiver.payloads[0], ensure_ascii=False)
    assert "просрочен" in text
