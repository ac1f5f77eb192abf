"""``kontur calendar expiries``, ``kontur evidence add|remove|list``, ``kontur notify run|log``.

``kontur evidence remove CODE --due DATE [--reason TEXT]`` takes back evidence attached by
mistake (audited, the reason kept in the journal); the occurrence is due or overdue again.
Generated evidence can be removed too, but ``kontur report uptime --evidence CODE`` for that
month attaches it again.

Exit codes: 0 ok; 1 data errors (unknown control point, a date that is not one of its due dates,
evidence already attached, no evidence to remove — nothing is written) and failed deliveries
(retried next run); 2 usage and configuration errors (e.g. ``notify run`` with no channel
configured, a bad date).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from cmdb.cli.context import CliContext, CommandError

#: User-facing messages: key → (Russian, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "help.calendar": ("календари сроков", "calendars of expiries"),
    "help.expiries": (
        "сроки действия аттестатов, СКИ и сертификатов ViPNet: действует / истекает / просрочен",
        "validity of attestations, ViPNet key sets and certificates: valid / expiring / expired",
    ),
    "help.within": (
        "только истекающие не позже чем через DAYS дней (и просроченные)",
        "only those expiring within DAYS days (and expired ones)",
    ),
    "help.state": (
        "только в этом состоянии: valid, expiring (любой порог), expiring_90, expiring_30, "
        "expiring_7 (по настроенным порогам), expired",
        "only in this state: valid, expiring (any threshold), expiring_90, expiring_30, "
        "expiring_7 (by the configured thresholds), expired",
    ),
    "help.today": ("на дату (по умолчанию сегодня)", "as of this date (default today)"),
    "help.evidence": (
        "подтверждения выполнения контрольных точек (акты, отчёты)",
        "evidence of control points done (acts, reports)",
    ),
    "help.add": (
        "приложить подтверждение к сроку контрольной точки",
        "attach evidence to a due date of a control point",
    ),
    "help.code": ("код контрольной точки", "control point code"),
    "help.due": ("срок, к которому относится документ (ДД.ММ.ГГГГ)", "the due date (DD.MM.YYYY)"),
    "help.document": (
        "документ: «Акт № 12 от 14.11.2026»",
        "the document: “Act No. 12 of 14.11.2026”",
    ),
    "help.note": ("примечание", "a note"),
    "help.remove": (
        "удалить подтверждение, приложенное по ошибке (запись остаётся в журнале аудита)",
        "remove evidence attached by mistake (the audit journal keeps it)",
    ),
    "help.remove_due": (
        "срок, с которого снять подтверждение (ДД.ММ.ГГГГ)",
        "the due date to remove the evidence from (DD.MM.YYYY)",
    ),
    "help.reason": (
        "причина удаления (записывается в журнал аудита)",
        "why it is removed (kept in the audit journal)",
    ),
    "help.list": ("список приложенных подтверждений", "list attached evidence"),
    "help.notify": (
        "уведомления по почте и через вебхук: сроки, контрольные точки, отключения",
        "e-mail and webhook notifications: expiries, control points, outages",
    ),
    "help.run": (
        "отправить новые уведомления (каждое — один раз на канал)",
        "send new notifications (each once per channel)",
    ),
    "help.dry_run": (
        "показать, что будет отправлено, ничего не отправляя и не записывая",
        "show what would be sent; send and record nothing",
    ),
    "help.log": ("журнал отправленных уведомлений", "log of sent notifications"),
    "help.limit": ("сколько последних записей (0 — все)", "how many latest rows (0: all)"),
    "bad_date": (
        "неверная дата {value!r}: ДД.ММ.ГГГГ или ГГГГ-ММ-ДД",
        "bad date {value!r}: DD.MM.YYYY or YYYY-MM-DD",
    ),
    "bad_state": (
        "неизвестное состояние {value!r}; допустимы: {valid}",
        "unknown state {value!r}; valid: {valid}",
    ),
    "negative": ("{option} < 0", "{option} < 0"),
    "expiries.header": (
        "срок|вид|номер / ID|объект|дней|состояние",
        "until|kind|number / ID|object|days|state",
    ),
    "evidence.header": (
        "код|срок|период с|документ|примечание|кто приложил|когда|источник",
        "code|due|period from|document|note|attached by|at|source",
    ),
    "no_cp": ("контрольная точка {code!r} не найдена", "control point {code!r} not found"),
    "attached": (
        "подтверждение приложено: {code}, срок {due}: «{document}»",
        "evidence attached: {code}, due {due}: “{document}”",
    ),
    "removed": (
        "подтверждение удалено: {code}, срок {due}: «{document}»; статус: {status}",
        "evidence removed: {code}, due {due}: “{document}”; status: {status}",
    ),
    "regenerated": (
        "это подтверждение сформировано отчётом: kontur report uptime --evidence {code} "
        "за тот же месяц приложит его снова",
        "this evidence was generated by a report: kontur report uptime --evidence {code} "
        "for the same month attaches it again",
    ),
    "nothing_written": ("ничего не записано", "nothing written"),
    "total": ("(записей: {count})", "({count} rows)"),
    "no_channels": (
        "каналы уведомлений не настроены: задайте KONTUR_NOTIFY__SMTP_HOST (с SMTP_FROM, SMTP_TO) "
        "и/или KONTUR_NOTIFY__WEBHOOK_URL",
        "no notification channel is configured: set KONTUR_NOTIFY__SMTP_HOST (with SMTP_FROM, "
        "SMTP_TO) and/or KONTUR_NOTIFY__WEBHOOK_URL",
    ),
    "found": ("уведомлений на сейчас: {count}", "current notifications: {count}"),
    "channel.email": ("эл. почта", "e-mail"),
    "channel.webhook": ("вебхук", "webhook"),
    "nothing_new": ("{channel} ({target}): новых нет", "{channel} ({target}): nothing new"),
    "in_flight": (
        "{channel} ({target}): {count} отправляется другим запуском, здесь не повторяется",
        "{channel} ({target}): {count} being sent by another run, not repeated here",
    ),
    "taken_over": (
        "  взяты у прерванного запуска (могли уйти повторно): {keys}",
        "  taken over from an interrupted run (may go out a second time): {keys}",
    ),
    "would_send": (
        "{channel} ({target}): будет отправлено {count}",
        "{channel} ({target}): would send {count}",
    ),
    "sent": ("{channel} ({target}): отправлено {count}", "{channel} ({target}): sent {count}"),
    "refused": ("  не приняты адресаты: {who}", "  recipients refused: {who}"),
    "failed": (
        "{channel}: ошибка отправки: {error}; не отмечено как отправленное, "
        "повтор при следующем запуске",
        "{channel}: delivery failed: {error}; not recorded as sent, will retry next run",
    ),
    "dry_run": (
        "пробный прогон: ничего не отправлено и не записано",
        "dry run: nothing sent or recorded",
    ),
    "log.header": ("когда|канал|ключ|уведомление", "sent at|channel|key|notification"),
}


def _m(locale: str, key: str, /, **params: Any) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


def _date(text: str) -> dt.date:
    from cmdb.fields import FieldError, parse_date

    try:
        return parse_date(text)
    except FieldError as exc:
        raise argparse.ArgumentTypeError(_m("ru", "bad_date", value=text)) from exc


def _refused(locale: str, message: str) -> CommandError:
    """A data error of an evidence command: exit 1, and the user is told nothing was written."""
    return CommandError(f"{message}; {_m(locale, 'nothing_written')}", 1)


def _today(args: argparse.Namespace, ctx: CliContext) -> dt.date:
    today: dt.date | None = getattr(args, "today", None)
    return today or dt.datetime.now(ctx.settings.zone).date()


# --- kontur calendar expiries --------------------------------------------------------------------


def register(sub: Any) -> None:
    """Declare ``kontur calendar expiries``."""
    parser = sub.add_parser("calendar", help=_m("ru", "help.calendar"))
    actions = parser.add_subparsers(dest="calendar_action", metavar="ACTION", required=True)
    exp = actions.add_parser("expiries", help=_m("ru", "help.expiries"))
    exp.add_argument("--within", type=int, metavar="DAYS", help=_m("ru", "help.within"))
    exp.add_argument("--state", metavar="S", help=_m("ru", "help.state"))
    exp.add_argument("--today", type=_date, metavar="DATE", help=_m("ru", "help.today"))
    exp.set_defaults(handler=_expiries)


def _expiries(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.calendars import expiries, expiry_states
    from cmdb.cli.render import table
    from cmdb.i18n import fmt_date

    locale = ctx.locale
    thresholds = ctx.settings.notify.expiry_days
    if args.within is not None and args.within < 0:
        raise CommandError(_m(locale, "negative", option="--within"), 2)
    states: list[str] | None = None
    if args.state is not None:
        valid = [*expiry_states(thresholds), "expiring"]
        if args.state not in valid:
            raise CommandError(_m(locale, "bad_state", value=args.state, valid=", ".join(valid)), 2)
        states = [args.state]
    items = expiries(ctx.engine(), _today(args, ctx), thresholds, within=args.within, states=states)
    rows = [
        [
            fmt_date(item.until, locale),
            item.kind_label(locale),
            item.key,
            item.name,
            item.days_left,
            item.state_label(locale),
        ]
        for item in items
    ]
    ctx.print(table(_m(locale, "expiries.header").split("|"), rows))
    return 0


# --- kontur evidence add|remove|list -------------------------------------------------------------


def register_evidence(sub: Any) -> None:
    """Declare ``kontur evidence add|remove|list``."""
    parser = sub.add_parser("evidence", help=_m("ru", "help.evidence"))
    actions = parser.add_subparsers(dest="evidence_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help=_m("ru", "help.add"))
    add.add_argument("code", metavar="CODE", help=_m("ru", "help.code"))
    add.add_argument("--due", type=_date, required=True, metavar="DATE", help=_m("ru", "help.due"))
    add.add_argument("--document", required=True, help=_m("ru", "help.document"))
    add.add_argument("--note", help=_m("ru", "help.note"))
    add.set_defaults(handler=_evidence_add)
    remove = actions.add_parser("remove", help=_m("ru", "help.remove"))
    remove.add_argument("code", metavar="CODE", help=_m("ru", "help.code"))
    remove.add_argument(
        "--due", type=_date, required=True, metavar="DATE", help=_m("ru", "help.remove_due")
    )
    remove.add_argument("--reason", help=_m("ru", "help.reason"))
    remove.set_defaults(handler=_evidence_remove)
    listing = actions.add_parser("list", help=_m("ru", "help.list"))
    listing.add_argument("code", metavar="CODE", nargs="?", help=_m("ru", "help.code"))
    listing.set_defaults(handler=_evidence_list)


def _evidence_add(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.calendars import DuplicateEvidence, InvalidEvidence, NotAnOccurrence, add_evidence
    from cmdb.errors import NotFound
    from cmdb.i18n import fmt_date

    locale = ctx.locale
    try:
        info = add_evidence(
            ctx.engine(),
            args.code,
            args.due,
            args.document,
            note=args.note,
            actor=ctx.actor,
            source="user",
            audit_source="cli",
        )
    except NotFound as exc:
        message = _m(locale, "no_cp", code=args.code)
        raise _refused(locale, message) from exc
    except NotAnOccurrence as exc:
        raise _refused(locale, exc.describe(locale)) from exc
    except DuplicateEvidence as exc:
        message = exc.describe(locale, ctx.settings.zone)
        raise _refused(locale, message) from exc
    except InvalidEvidence as exc:
        raise _refused(locale, exc.describe(locale)) from exc
    ctx.print(
        _m(
            locale,
            "attached",
            code=info.code,
            due=fmt_date(info.due_date, locale),
            document=info.document,
        )
    )
    return 0


def _evidence_remove(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.calendars import (
        InvalidEvidence,
        NoEvidence,
        NotAnOccurrence,
        control_point_statuses,
        remove_evidence,
    )
    from cmdb.errors import NotFound
    from cmdb.i18n import fmt_date

    locale = ctx.locale
    engine = ctx.engine()
    try:
        info = remove_evidence(
            engine, args.code, args.due, actor=ctx.actor, reason=args.reason, audit_source="cli"
        )
    except NotFound as exc:
        message = _m(locale, "no_cp", code=args.code)
        raise _refused(locale, message) from exc
    except (NotAnOccurrence, NoEvidence, InvalidEvidence) as exc:
        raise _refused(locale, exc.describe(locale)) from exc
    today = _today(args, ctx)
    due_soon = ctx.settings.notify.due_soon_days
    now = control_point_statuses(
        engine, info.due_date, info.due_date, today, code=info.code, due_soon_days=due_soon
    )
    status = now[0].status.label(locale) if now else "—"
    ctx.print(
        _m(
            locale,
            "removed",
            code=info.code,
            due=fmt_date(info.due_date, locale),
            document=info.document,
            status=status,
        )
    )
    if info.source == "generated":
        ctx.print(_m(locale, "regenerated", code=info.code))
    return 0


def _evidence_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.calendars import list_evidence
    from cmdb.cli.render import table
    from cmdb.errors import NotFound
    from cmdb.i18n import fmt_date, fmt_datetime

    locale, zone = ctx.locale, ctx.settings.zone
    try:
        found = list_evidence(ctx.engine(), args.code)
    except NotFound as exc:
        raise CommandError(_m(locale, "no_cp", code=args.code), 1) from exc
    rows = [
        [
            ev.code,
            fmt_date(ev.due_date, locale),
            fmt_date(ev.period_start, locale),
            ev.document,
            ev.note or "",
            ev.attached_by,
            fmt_datetime(ev.attached_at, zone, locale),
            ev.source_label(locale),
        ]
        for ev in found
    ]
    ctx.print(table(_m(locale, "evidence.header").split("|"), rows))
    ctx.print(_m(locale, "total", count=len(found)))
    return 0


# --- kontur notify run|log -----------------------------------------------------------------------


def register_notify(sub: Any) -> None:
    """Declare ``kontur notify run|log``."""
    parser = sub.add_parser("notify", help=_m("ru", "help.notify"))
    actions = parser.add_subparsers(dest="notify_action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help=_m("ru", "help.run"))
    run.add_argument("--dry-run", action="store_true", help=_m("ru", "help.dry_run"))
    run.set_defaults(handler=_notify_run)
    log = actions.add_parser("log", help=_m("ru", "help.log"))
    log.add_argument("--limit", type=int, default=50, help=_m("ru", "help.limit"))
    log.set_defaults(handler=_notify_log)


def _notify_run(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.notify import run

    locale, settings = ctx.locale, ctx.settings.notify
    if not (settings.email_enabled or settings.webhook_enabled) and not args.dry_run:
        raise CommandError(_m(locale, "no_channels"), 2)
    result = run(
        ctx.engine(),
        settings,
        zone=ctx.settings.zone,
        locale=locale,
        dry_run=args.dry_run,
    )
    ctx.print(_m(locale, "found", count=len(result.notices)))
    if not result.channels:
        # A dry run with no channel configured: show what would be notified.
        for notice in result.notices:
            ctx.print(f"  {notice.key}  {notice.text}")
        ctx.print(_m(locale, "no_channels"))
    for channel in result.channels:
        name = _m(locale, f"channel.{channel.channel.value}")
        if channel.in_flight:
            ctx.print(
                _m(
                    locale,
                    "in_flight",
                    channel=name,
                    target=channel.target,
                    count=len(channel.in_flight),
                )
            )
        if not channel.pending:
            if not channel.in_flight:
                ctx.print(_m(locale, "nothing_new", channel=name, target=channel.target))
            continue
        if channel.error is not None:
            print(_m(locale, "failed", channel=name, error=channel.error), file=ctx.err)
            continue
        key = "sent" if channel.delivered else "would_send"
        ctx.print(_m(locale, key, channel=name, target=channel.target, count=len(channel.pending)))
        for notice in channel.pending:
            ctx.print(f"  {notice.key}  {notice.text}")
        if channel.refused:
            ctx.print(_m(locale, "refused", who=", ".join(channel.refused)))
        if channel.taken_over:
            ctx.print(_m(locale, "taken_over", keys=", ".join(channel.taken_over)))
    if result.dry_run:
        ctx.print(_m(locale, "dry_run"))
    return 0 if result.ok else 1


def _notify_log(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.cli.render import table
    from cmdb.i18n import fmt_datetime
    from cmdb.notify import sent_log

    locale = ctx.locale
    if args.limit < 0:
        raise CommandError(_m(locale, "negative", option="--limit"), 2)
    rows = [
        [
            fmt_datetime(rec.sent_at, ctx.settings.zone, locale),
            _m(locale, f"channel.{rec.channel}"),
            rec.key,
            rec.detail or "",
        ]
        for rec in sent_log(ctx.engine(), args.limit)
    ]
    ctx.print(table(_m(locale, "log.header").split("|"), rows))
    return 0
