"""Notifications: expiries, overdue control points and long outages, each sent once per channel.

What is notified (each a :class:`Notice` with a stable key):

* an expiry entering a state (``expiry:<kind>:<key>:<valid until>:<state>``): an attestation
  (the newest per object), a ViPNet key set or certificate of an enabled node, when it crosses
  into ``expiring_90``, ``expiring_30``, ``expiring_7`` (the configured thresholds) and
  ``expired``; an item first seen already deep in a band is notified for that band only. The
  date is in the key, so renewed keys of the same node are notified afresh;
* an overdue control-point occurrence without evidence (``cp:<code>:<due>:overdue``), due within
  the last ``lookback_days``;
* an outage (``outage:<kind>:<key>:<vantage>:<start>``): a ``down`` transition in the status ledger
  whose down period (until the next transition of that object and vantage, or until now) lasted
  at least ``outage_minutes``, not counting the time inside maintenance windows naming that
  object; outages that began within the last ``lookback_days``. An ongoing outage is notified
  once it is long enough, and not again when it ends.

Delivery: one e-mail (SMTP, STARTTLS and login when configured, UTF-8, Russian by default) and
one webhook POST (JSON, ``Authorization: Bearer``, no redirects followed) per run, carrying every
notice not yet delivered over that channel. Passwords and tokens never reach the output, the log
or the database.

Exactly once, even with two runs at the same time (cron and a manual run, two hosts): before
sending over a channel a run *claims* its notices by inserting their (key, channel) rows in
``notification_sent`` as ``sending`` (one short transaction; none is open while sending). The
unique (key, channel) index decides a race: the loser's insert fails, it rolls back, reads again
and claims only what is left. After delivery the claims become ``sent``; a failed delivery is
reported, logged and its claims deleted, so the next run retries it. A claim left ``sending`` by
a run that crashed or was killed is taken over (deleted and claimed again, in one transaction
that checks it is still that stale claim) once older than ``claim_timeout_s``. The price: a run
that dies after the server accepted a message but before marking it sent, or a delivery that
takes longer than the timeout, has those notices sent once more, after the timeout; beyond that
window delivery is at least once. Claims are timed by the clock of the host running the run.

Errors::

    KonturError
    └── NotifyError        a channel failed to deliver (the message carries no secret)
        ├── SmtpFailed
        ├── WebhookFailed
        └── ClaimContended other runs kept changing the claims (nothing sent by this run)
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import os
import secrets
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from cmdb.calendars import (
    VALID,
    CpStatus,
    control_point_statuses,
    expiries,
)
from cmdb.choices import State, label
from cmdb.db import transaction
from cmdb.errors import KonturError
from cmdb.i18n import fmt_date, fmt_datetime
from cmdb.models import (
    MaintenanceWindow,
    NotificationSent,
    NotifyChannel,
    NotifyState,
    StatusTransition,
)
from cmdb.settings import NotifySettings
from cmdb.types import UTCDateTime, utcnow

logger = logging.getLogger(__name__)

#: Categories of notices, in the order a message lists them.
CATEGORIES: Final = ("expiry", "control_point", "outage")
USER_AGENT: Final = "kontur-notify/1"
#: How many times a run reads and claims again after other runs changed the claims meanwhile.
CLAIM_ATTEMPTS: Final = 20
#: Keys per ``IN (...)`` list.
_CHUNK: Final = 500
_T = TypeVar("_T")

#: User-facing texts of this module: key → (Russian, English).
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "expiry.line": (
        "{kind} {key} «{name}»: {state} (до {until})",
        "{kind} {key} “{name}”: {state} (valid until {until})",
    ),
    "cp.line": (
        "контрольная точка {code} «{title}»: просрочен срок {due}{period}{evidence}",
        "control point {code} “{title}”: overdue since {due}{period}{evidence}",
    ),
    "cp.period": (" (период {start}–{end})", " (period {start}–{end})"),
    "cp.evidence": ("; ожидается: {evidence}", "; expected: {evidence}"),
    "outage.ended": (
        "{kind} {key} (точка наблюдения {vantage}) не работал с {start} по {end}: {minutes} мин",
        "{kind} {key} (vantage {vantage}) was down from {start} to {end}: {minutes} min",
    ),
    "outage.ongoing": (
        "{kind} {key} (точка наблюдения {vantage}) не работает с {start}: уже {minutes} мин",
        "{kind} {key} (vantage {vantage}) is down since {start}: {minutes} min so far",
    ),
    "section.expiry": (
        "Сроки действия аттестатов, СКИ и сертификатов ViPNet:",
        "Attestations, ViPNet key sets and certificates:",
    ),
    "section.control_point": ("Просроченные контрольные точки:", "Overdue control points:"),
    "section.outage": (
        "Отключения дольше {minutes} мин:",
        "Outages longer than {minutes} min:",
    ),
    "count.expiry": ("сроки: {n}", "expiries: {n}"),
    "count.control_point": ("контрольные точки: {n}", "control points: {n}"),
    "count.outage": ("отключения: {n}", "outages: {n}"),
    "subject": ("Kontur: {count} — {parts}", "Kontur: {count} — {parts}"),
    "title": ("Kontur — уведомления на {at}", "Kontur notifications, {at}"),
    "footer": (
        "Письмо сформировано автоматически системой Kontur; каждое уведомление отправляется "
        "один раз.",
        "Sent automatically by Kontur; each notification is sent once.",
    ),
}

_NOTICE_FORMS: Final = ("уведомление", "уведомления", "уведомлений")


def _m(locale: str, key: str, /, **params: Any) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


def _plural_ru(n: int, forms: tuple[str, str, str]) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


class NotifyError(KonturError):
    """A channel failed to deliver; the message names the channel's target, never a secret."""


class SmtpFailed(NotifyError):
    """The SMTP server could not be reached, refused the login or the message."""


class WebhookFailed(NotifyError):
    """The webhook could not be reached or answered with something other than 2xx."""


class ClaimContended(NotifyError):
    """Other runs kept changing a channel's claims; nothing was sent over it by this run."""


@dataclass(frozen=True)
class Notice:
    """One thing to tell people, identified by a stable key."""

    key: str
    category: str
    #: one line in the run's locale
    text: str
    #: JSON-ready details for the webhook
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "category": self.category, "text": self.text, **self.data}


# --- what to notify ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outage:
    """A down period of one object seen from one vantage."""

    kind: str
    key: str
    vantage: str
    start: dt.datetime
    #: None while the object is still down
    end: dt.datetime | None
    #: how long it was down, maintenance excluded
    down: dt.timedelta

    @property
    def notice_key(self) -> str:
        return f"outage:{self.kind}:{self.key}:{self.vantage}:{self.start.isoformat()}"


def _overlap(
    start: dt.datetime, end: dt.datetime, windows: Iterable[tuple[dt.datetime, dt.datetime]]
) -> dt.timedelta:
    """How much of [start, end) the (possibly overlapping) windows cover."""
    covered = dt.timedelta(0)
    cursor = start
    for w_start, w_end in sorted(windows):
        lo, hi = max(w_start, cursor), min(w_end, end)
        if hi > lo:
            covered += hi - lo
            cursor = hi
    return covered


def long_outages(
    engine: Engine, now: dt.datetime, threshold: dt.timedelta, since: dt.datetime
) -> list[Outage]:
    """Down periods that began at or after ``since`` and lasted at least ``threshold``."""
    ended = (
        func.lead(StatusTransition.at, type_=UTCDateTime())
        .over(
            partition_by=(
                StatusTransition.object_kind,
                StatusTransition.object_key,
                StatusTransition.vantage,
            ),
            order_by=(StatusTransition.at, StatusTransition.id),
        )
        .label("ended")
    )
    periods = (
        select(
            StatusTransition.object_kind,
            StatusTransition.object_key,
            StatusTransition.vantage,
            StatusTransition.at,
            StatusTransition.state,
            ended,
        )
        .where(StatusTransition.at >= since)
        .subquery()
    )
    query = (
        select(
            periods.c.object_kind,
            periods.c.object_key,
            periods.c.vantage,
            periods.c.at,
            periods.c.ended,
        )
        .where(periods.c.state == State.DOWN.value)
        .order_by(periods.c.at, periods.c.object_kind, periods.c.object_key, periods.c.vantage)
    )
    with Session(engine) as session:
        rows = session.execute(query).all()
        windows: dict[tuple[str, str], list[tuple[dt.datetime, dt.datetime]]] = {}
        for window in session.scalars(
            select(MaintenanceWindow).where(
                MaintenanceWindow.ends_at > since, MaintenanceWindow.starts_at < now
            )
        ):
            for obj in window.objects:
                windows.setdefault((obj["kind"], obj["key"]), []).append(
                    (window.starts_at, window.ends_at)
                )
    result: list[Outage] = []
    for kind, key, vantage, start, end in rows:
        until = end if end is not None else now
        if until <= start:
            continue
        down = (until - start) - _overlap(start, until, windows.get((kind, key), []))
        if down >= threshold:
            result.append(Outage(kind, key, vantage, start, end, down))
    return result


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def collect(
    engine: Engine,
    settings: NotifySettings,
    *,
    now: dt.datetime,
    zone: dt.tzinfo,
    locale: str = "ru",
) -> list[Notice]:
    """Everything worth notifying at ``now`` (sent or not), by category."""
    today = now.astimezone(zone).date()
    notices: list[Notice] = []
    for item in expiries(engine, today, settings.expiry_days):
        if item.state == VALID:
            continue
        text = _m(
            locale,
            "expiry.line",
            kind=item.kind_label(locale),
            key=item.key,
            name=item.name,
            state=item.state_label(locale),
            until=fmt_date(item.until, locale),
        )
        notices.append(
            Notice(
                f"expiry:{item.kind.value}:{item.key}:{item.until.isoformat()}:{item.state}",
                "expiry",
                text,
                {
                    "kind": item.kind.value,
                    "object": item.key,
                    "name": item.name,
                    "valid_until": item.until.isoformat(),
                    "days_left": item.days_left,
                    "state": item.state,
                },
            )
        )
    first = today - dt.timedelta(days=settings.lookback_days)
    for cp in control_point_statuses(
        engine,
        first,
        today - dt.timedelta(days=1),
        today,
        due_soon_days=settings.due_soon_days,
        statuses=[CpStatus.OVERDUE],
    ):
        occ = cp.occurrence
        period = (
            _m(
                locale,
                "cp.period",
                start=fmt_date(occ.period_start, locale),
                end=fmt_date(occ.period_end, locale),
            )
            if occ.period_start
            else ""
        )
        expected = _m(locale, "cp.evidence", evidence=cp.evidence_kind) if cp.evidence_kind else ""
        notices.append(
            Notice(
                f"cp:{cp.code}:{occ.due.isoformat()}:overdue",
                "control_point",
                _m(
                    locale,
                    "cp.line",
                    code=cp.code,
                    title=cp.title,
                    due=fmt_date(occ.due, locale),
                    period=period,
                    evidence=expected,
                ),
                {
                    "code": cp.code,
                    "title": cp.title,
                    "due": occ.due.isoformat(),
                    "period_start": occ.period_start.isoformat() if occ.period_start else None,
                    "period_end": occ.period_end.isoformat() if occ.period_end else None,
                    "status": cp.status.value,
                },
            )
        )
    since = now - dt.timedelta(days=settings.lookback_days)
    threshold = dt.timedelta(minutes=settings.outage_minutes)
    for outage in long_outages(engine, now, threshold, since):
        params = {
            "kind": label(outage.kind, locale),
            "key": outage.key,
            "vantage": outage.vantage,
            "start": fmt_datetime(outage.start, zone, locale),
            "minutes": _minutes(outage.down),
        }
        if outage.end is None:
            text = _m(locale, "outage.ongoing", **params)
        else:
            text = _m(locale, "outage.ended", end=fmt_datetime(outage.end, zone, locale), **params)
        notices.append(
            Notice(
                outage.notice_key,
                "outage",
                text,
                {
                    "kind": outage.kind,
                    "object": outage.key,
                    "vantage": outage.vantage,
                    "started_at": outage.start.isoformat(),
                    "ended_at": outage.end.isoformat() if outage.end else None,
                    "down_minutes": _minutes(outage.down),
                },
            )
        )
    return notices


# --- messages ------------------------------------------------------------------------------------


def render_subject(notices: Sequence[Notice], locale: str) -> str:
    """«Kontur: 3 уведомления — сроки: 1, контрольные точки: 1, отключения: 1»."""
    parts = []
    for category in CATEGORIES:
        n = sum(1 for notice in notices if notice.category == category)
        if n:
            parts.append(_m(locale, f"count.{category}", n=n))
    count = len(notices)
    if locale == "en":
        counted = f"{count} notification{'s' if count != 1 else ''}"
    else:
        counted = f"{count} {_plural_ru(count, _NOTICE_FORMS)}"
    return _m(locale, "subject", count=counted, parts=", ".join(parts))


def render_body(
    notices: Sequence[Notice],
    settings: NotifySettings,
    *,
    now: dt.datetime,
    zone: dt.tzinfo,
    locale: str,
) -> str:
    """The plain-text e-mail: a title, one section per category, a footer."""
    lines = [_m(locale, "title", at=fmt_datetime(now, zone, locale)), ""]
    for category in CATEGORIES:
        chosen = [n for n in notices if n.category == category]
        if not chosen:
            continue
        lines.append(_m(locale, f"section.{category}", minutes=settings.outage_minutes))
        lines.extend(f"  • {n.text}" for n in chosen)
        lines.append("")
    lines.append(_m(locale, "footer"))
    return "\n".join(lines) + "\n"


def webhook_payload(notices: Sequence[Notice], *, now: dt.datetime, locale: str) -> dict[str, Any]:
    """The JSON body of the webhook POST."""
    return {
        "source": "kontur",
        "generated_at": now.astimezone(dt.UTC).isoformat(),
        "locale": locale,
        "count": len(notices),
        "notices": [n.as_json() for n in notices],
    }


# --- delivery ------------------------------------------------------------------------------------


def _secrets(settings: NotifySettings) -> list[str]:
    found = []
    for secret in (settings.smtp_password, settings.webhook_token):
        if secret is not None and secret.get_secret_value():
            found.append(secret.get_secret_value())
    return found


def _scrub(text: str, settings: NotifySettings) -> str:
    """``text`` with every configured secret replaced by ``***``."""
    for secret in _secrets(settings):
        text = text.replace(secret, "***")
    return text


def email_target(settings: NotifySettings) -> str:
    """Where e-mail goes, for people: ``host:port → a@x, b@y``."""
    return f"{settings.smtp_host}:{settings.smtp_port} → {', '.join(settings.smtp_to)}"


def webhook_target(settings: NotifySettings) -> str:
    """Where the webhook goes, for people: scheme, host and port only (a path may hold a secret)."""
    parts = urlsplit(settings.webhook_url or "")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def send_email(
    settings: NotifySettings, subject: str, body: str, *, now: dt.datetime
) -> dict[str, Any]:
    """Send one plain-text UTF-8 message; returns the recipients the server refused.

    Raises :class:`SmtpFailed` when nothing was accepted.
    """
    assert settings.smtp_host
    assert settings.smtp_from
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(settings.smtp_to)
    msg["Date"] = email.utils.format_datetime(now.astimezone(dt.UTC))
    msg["Message-ID"] = email.utils.make_msgid(domain="kontur")
    msg.set_content(body, charset="utf-8", cte="base64")
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                context = ssl.create_default_context()
                if settings.smtp_ca_file is not None:
                    context.load_verify_locations(cafile=str(settings.smtp_ca_file))
                smtp.starttls(context=context)
            if settings.smtp_user:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                smtp.login(settings.smtp_user, password)
            refused: dict[str, Any] = dict(smtp.send_message(msg))
    except (smtplib.SMTPException, OSError) as exc:
        detail = _scrub(f"{type(exc).__name__}: {exc}", settings)
        raise SmtpFailed(f"{email_target(settings)}: {detail}") from exc
    return refused


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a redirected POST would carry the bearer token to another address."""

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


def post_webhook(settings: NotifySettings, payload: dict[str, Any]) -> int:
    """POST ``payload`` as JSON with the bearer token; returns the HTTP status (2xx).

    Raises :class:`WebhookFailed` on a connection error, a timeout or any other status.
    """
    assert settings.webhook_url
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked in NotifySettings
        settings.webhook_url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    if settings.webhook_token is not None:
        request.add_unredirected_header(
            "Authorization", f"Bearer {settings.webhook_token.get_secret_value()}"
        )
    opener = urllib.request.build_opener(_NoRedirect)
    target = webhook_target(settings)
    try:
        with opener.open(request, timeout=settings.webhook_timeout_s) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebhookFailed(f"{target}: HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        detail = _scrub(str(exc.reason), settings)
        raise WebhookFailed(f"{target}: {detail}") from exc
    except OSError as exc:  # timeouts while reading, resets
        detail = _scrub(f"{type(exc).__name__}: {exc}", settings)
        raise WebhookFailed(f"{target}: {detail}") from exc
    if not 200 <= status < 300:  # pragma: no cover - urllib raises HTTPError for these
        raise WebhookFailed(f"{target}: HTTP {status}")
    return status


# --- a run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelResult:
    """What one channel did in a run."""

    channel: NotifyChannel
    target: str
    #: notices this run claimed for this channel (sent now, unless dry run or failure); in a dry
    #: run, those a run would claim now
    pending: list[Notice]
    delivered: bool
    error: str | None = None
    #: recipients the SMTP server refused while accepting others
    refused: list[str] = field(default_factory=list)
    #: notices another run has claimed and is delivering (not sent by this run)
    in_flight: list[Notice] = field(default_factory=list)
    #: keys of stale claims (a crashed run's) this run took over; they may have gone out once
    taken_over: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunResult:
    """What a run found and what each channel did with it."""

    notices: list[Notice]
    channels: list[ChannelResult]
    dry_run: bool
    #: who this run's claims name: ``host:pid:random``
    run_id: str = ""

    @property
    def ok(self) -> bool:
        return all(c.error is None for c in self.channels)


def new_run_id() -> str:
    """``host:pid:random``: names a run's claims (two runs in one process differ too)."""
    return f"{socket.gethostname()[:200]}:{os.getpid()}:{secrets.token_hex(4)}"


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def already_sent(engine: Engine, keys: Iterable[str]) -> set[tuple[str, str]]:
    """(key, channel) pairs of ``keys`` delivered (claims still being sent are not included)."""
    wanted = sorted(set(keys))
    found: set[tuple[str, str]] = set()
    with Session(engine) as session:
        for chunk in _chunks(wanted):
            rows = session.execute(
                select(NotificationSent.key, NotificationSent.channel).where(
                    NotificationSent.key.in_(chunk),
                    NotificationSent.state == NotifyState.SENT.value,
                )
            )
            found.update((key, channel) for key, channel in rows)
    return found


@dataclass(frozen=True)
class _Stale:
    """A claim older than the timeout: its run crashed or was killed (or is very slow)."""

    id: int
    key: str
    claimed_by: str | None
    claimed_at: dt.datetime


@dataclass(frozen=True)
class _Rows:
    """What ``notification_sent`` holds for some keys of one channel."""

    sent: set[str]
    #: claims younger than the timeout: another run is delivering them
    claimed: set[str]
    stale: list[_Stale]


def _claims_of(
    session: Session, channel: NotifyChannel, keys: Sequence[str], stale_before: dt.datetime
) -> _Rows:
    rows = _Rows(set(), set(), [])
    for chunk in _chunks(sorted(set(keys))):
        query = select(
            NotificationSent.id,
            NotificationSent.key,
            NotificationSent.state,
            NotificationSent.claimed_at,
            NotificationSent.claimed_by,
        ).where(NotificationSent.channel == channel.value, NotificationSent.key.in_(chunk))
        for id_, key, state, claimed_at, claimed_by in session.execute(query):
            if state == NotifyState.SENT.value:
                rows.sent.add(key)
            elif claimed_at < stale_before:
                rows.stale.append(_Stale(id_, key, claimed_by, claimed_at))
            else:
                rows.claimed.add(key)
    return rows


class _LostRace(Exception):
    """Another run changed the claims between this run's read and its write."""


def _lost_race(exc: DBAPIError) -> bool:
    """Whether ``exc`` means a concurrent run won (a unique violation, a deadlock victim)."""
    if isinstance(exc, IntegrityError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate in {"40001", "40P01"}


def _rowcount(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in the session's transaction; how many rows it changed."""
    return int(session.connection().execute(statement).rowcount)


def _claim(
    engine: Engine,
    channel: NotifyChannel,
    notices: Sequence[Notice],
    *,
    run_id: str,
    timeout: dt.timedelta,
) -> tuple[list[Notice], _Rows]:
    """Claim the notices neither sent nor freshly claimed on ``channel``; stale claims taken over.

    One short transaction per attempt: read the rows of the keys, delete the stale claims read
    (only if still stale and unchanged), insert ours. The unique (key, channel) index decides a
    race: the loser's insert fails, it rolls back, reads again and claims only what is left.
    Returns what was claimed (in the notices' order) and the rows read in the winning attempt.
    """
    first: dict[str, Notice] = {}
    for notice in notices:
        first.setdefault(notice.key, notice)
    unique = list(first.values())
    keys = list(first)
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        now = utcnow()
        try:
            with transaction(engine) as session:
                rows = _claims_of(session, channel, keys, now - timeout)
                for chunk in _chunks([s.id for s in rows.stale]):
                    # Only if still an unchanged stale claim: another run may have taken it
                    # over (or its own run marked it sent) since the read.
                    gone = _rowcount(
                        session,
                        delete(NotificationSent).where(
                            NotificationSent.id.in_(chunk),
                            NotificationSent.state == NotifyState.SENDING.value,
                            NotificationSent.claimed_at < now - timeout,
                        ),
                    )
                    if gone != len(chunk):
                        raise _LostRace
                held = rows.sent | rows.claimed
                free = [n for n in unique if n.key not in held]
                # Inserted in key order: two runs claiming overlapping keys lock them in the
                # same order, so on PostgreSQL one waits for the other instead of deadlocking.
                session.add_all(
                    NotificationSent(
                        key=n.key,
                        channel=channel.value,
                        state=NotifyState.SENDING.value,
                        claimed_at=now,
                        claimed_by=run_id,
                        detail=n.text,
                    )
                    for n in sorted(free, key=lambda n: n.key)
                )
                session.flush()
        except _LostRace:
            logger.debug("%s: stale claims changed meanwhile (attempt %d)", channel.value, attempt)
            continue
        except DBAPIError as exc:
            if not _lost_race(exc):
                raise
            logger.debug("%s: another run claimed first (attempt %d)", channel.value, attempt)
            continue
        return free, rows
    raise ClaimContended(
        f"{channel.value}: other runs kept changing the claims ({CLAIM_ATTEMPTS} attempts)"
    )


def _own_claims(channel: NotifyChannel, run_id: str) -> tuple[Any, ...]:
    """The conditions selecting this run's claims still being sent on ``channel``."""
    return (
        NotificationSent.channel == channel.value,
        NotificationSent.claimed_by == run_id,
        NotificationSent.state == NotifyState.SENDING.value,
    )


def _mark_sent(engine: Engine, channel: NotifyChannel, run_id: str) -> int:
    """This run's claims on ``channel`` become 'sent'; returns how many were still its own."""
    with transaction(engine) as session:
        return _rowcount(
            session,
            update(NotificationSent)
            .where(*_own_claims(channel, run_id))
            .values(state=NotifyState.SENT.value, sent_at=utcnow()),
        )


def _release(engine: Engine, channel: NotifyChannel, run_id: str) -> int:
    """Delete this run's claims on ``channel`` (delivery failed: the next run retries them)."""
    with transaction(engine) as session:
        return _rowcount(
            session,
            delete(NotificationSent).where(*_own_claims(channel, run_id)),
        )


def _deliver(
    channel: NotifyChannel,
    pending: Sequence[Notice],
    settings: NotifySettings,
    *,
    now: dt.datetime,
    zone: dt.tzinfo,
    locale: str,
) -> list[str]:
    """Send ``pending`` over ``channel``; returns the refused e-mail recipients."""
    if channel is NotifyChannel.EMAIL:
        subject = render_subject(pending, locale)
        body = render_body(pending, settings, now=now, zone=zone, locale=locale)
        refused = sorted(send_email(settings, subject, body, now=now))
        if refused:
            logger.warning("e-mail recipients refused: %s", ", ".join(refused))
        return refused
    post_webhook(settings, webhook_payload(pending, now=now, locale=locale))
    return []


def _preview(
    engine: Engine,
    channel: NotifyChannel,
    target: str,
    notices: Sequence[Notice],
    timeout: dt.timedelta,
) -> ChannelResult:
    """A dry run's view of a channel: what a run would claim now; nothing is written."""
    with Session(engine) as session:
        rows = _claims_of(session, channel, [n.key for n in notices], utcnow() - timeout)
    return ChannelResult(
        channel,
        target,
        [n for n in notices if n.key not in rows.sent | rows.claimed],
        delivered=False,
        in_flight=[n for n in notices if n.key in rows.claimed],
    )


def run(
    engine: Engine,
    settings: NotifySettings,
    *,
    now: dt.datetime | None = None,
    zone: dt.tzinfo = dt.UTC,
    locale: str = "ru",
    dry_run: bool = False,
) -> RunResult:
    """Collect the notices and deliver the new ones over every configured channel, each once.

    Per channel: claim what is neither sent nor claimed by another run, deliver it, mark it sent;
    on a delivery failure delete the claims so the next run retries. No transaction is open
    while delivering. ``now`` is the moment the notices are about (claims use the real clock).
    """
    now = now or utcnow()
    run_id = new_run_id()
    timeout = dt.timedelta(seconds=settings.claim_timeout_s)
    notices = collect(engine, settings, now=now, zone=zone, locale=locale)
    channels: list[tuple[NotifyChannel, str]] = []
    if settings.email_enabled:
        channels.append((NotifyChannel.EMAIL, email_target(settings)))
    if settings.webhook_enabled:
        channels.append((NotifyChannel.WEBHOOK, webhook_target(settings)))
    results: list[ChannelResult] = []
    for channel, target in channels:
        if dry_run:
            results.append(_preview(engine, channel, target, notices, timeout))
            continue
        try:
            pending, rows = _claim(engine, channel, notices, run_id=run_id, timeout=timeout)
        except ClaimContended as exc:
            logger.warning("%s: %s", channel.value, exc)
            results.append(ChannelResult(channel, target, [], delivered=False, error=str(exc)))
            continue
        in_flight = [n for n in notices if n.key in rows.claimed]
        taken_over = sorted(s.key for s in rows.stale)
        for stale in rows.stale:
            logger.warning(
                "%s: took over the stale claim of %s (claimed by %s at %s); "
                "it may have been delivered once already",
                channel.value,
                stale.key,
                stale.claimed_by or "?",
                stale.claimed_at.isoformat(),
            )
        if not pending:
            results.append(
                ChannelResult(
                    channel, target, [], delivered=False, in_flight=in_flight, taken_over=taken_over
                )
            )
            continue
        try:
            refused = _deliver(channel, pending, settings, now=now, zone=zone, locale=locale)
        except NotifyError as exc:
            _release(engine, channel, run_id)
            logger.warning("%s delivery failed, will retry next run: %s", channel.value, exc)
            results.append(
                ChannelResult(
                    channel,
                    target,
                    pending,
                    delivered=False,
                    error=str(exc),
                    in_flight=in_flight,
                    taken_over=taken_over,
                )
            )
            continue
        marked = _mark_sent(engine, channel, run_id)
        if marked != len(pending):
            logger.warning(
                "%s: %d of %d claim(s) were taken over by another run while delivering (longer "
                "than KONTUR_NOTIFY__CLAIM_TIMEOUT_S): those may be sent again",
                channel.value,
                len(pending) - marked,
                len(pending),
            )
        logger.info("%s: %d notification(s) sent to %s", channel.value, len(pending), target)
        results.append(
            ChannelResult(
                channel,
                target,
                pending,
                delivered=True,
                refused=refused,
                in_flight=in_flight,
                taken_over=taken_over,
            )
        )
    return RunResult(notices, results, dry_run, run_id)


@dataclass(frozen=True)
class SentRecord:
    """A delivered row of ``notification_sent``."""

    key: str
    channel: str
    sent_at: dt.datetime
    detail: str | None


def sent_log(engine: Engine, limit: int = 50) -> list[SentRecord]:
    """The latest deliveries, newest first (claims still being delivered are not listed)."""
    query = (
        select(
            NotificationSent.key,
            NotificationSent.channel,
            NotificationSent.sent_at,
            NotificationSent.detail,
        )
        .where(NotificationSent.state == NotifyState.SENT.value)
        .order_by(NotificationSent.sent_at.desc(), NotificationSent.id.desc())
    )
    if limit:
        query = query.limit(limit)
    with Session(engine) as session:
        records = []
        for key, channel, sent_at, detail in session.execute(query):
            assert sent_at is not None  # a CHECK constraint: 'sent' rows have it
            records.append(SentRecord(key, channel, sent_at, detail))
        return records
