"""``kontur inventory`` and ``kontur provision``: CMDB inventory, gated runs, overrides, evidence.

    kontur inventory [--list | --host NAME]
    kontur provision PLAYBOOK [--limit PATTERN] [--check] [--tags TAGS] [--inventory DIR]
    kontur provision override add (--site CODE | --device NAME | --workstation HOST |
                                   --vipnet-node ID | --attestation NUMBER)
                                  --reason TEXT --until DD.MM.YYYY[ HH:MM] [--approved-by USER]
    kontur provision override list [--all] | override revoke ID
    kontur provision runs [--last N] | show RUN_ID [--host H] [--status S ...]
    kontur provision export RUN_ID --format json|xlsx [-o FILE] [--verification JUNIT.xml ...]

Exit codes: 0 ok (a run that succeeded); 1 data errors, a run with failed or unreachable hosts,
or every target refused by the gate; 2 usage, configuration, or Ansible unable to run.
Registration only declares arguments; everything heavy is imported when a handler runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cmdb.cli.context import CliContext, CommandError

MESSAGES: dict[str, tuple[str, str]] = {
    "help.inventory": (
        "инвентарь Ansible из CMDB (JSON, как выдаёт inventory/kontur_cmdb.py)",
        "the Ansible inventory from the CMDB (JSON, as inventory/kontur_cmdb.py prints)",
    ),
    "help.list": ("весь инвентарь (по умолчанию)", "the whole inventory (the default)"),
    "help.host": ("переменные одного хоста", "one host's variables"),
    "help.provision": (
        "запуск сценария Ansible по CMDB с допуском (аттестаты, ключи ViPNet), журнал запусков",
        "run an Ansible playbook over the CMDB, gated (attestations, ViPNet keys); run journal",
    ),
    "usage.provision": (
        "kontur provision PLAYBOOK [--limit ШАБЛОН] [--check] [--tags ТЕГИ] [--inventory КАТАЛОГ]\n"
        "       kontur provision override add|list|revoke ...\n"
        "       kontur provision runs | show RUN_ID | export RUN_ID --format json|xlsx",
        "kontur provision PLAYBOOK [--limit PATTERN] [--check] [--tags TAGS] [--inventory DIR]\n"
        "       kontur provision override add|list|revoke ...\n"
        "       kontur provision runs | show RUN_ID | export RUN_ID --format json|xlsx",
    ),
    "no_playbook": ("сценарий не найден: {path}", "playbook not found: {path}"),
    "no_inventory": (
        "каталог инвентаря не найден: {path}",
        "inventory directory not found: {path}",
    ),
    "no_run": ("запуск № {id} не найден", "run {id} not found"),
    "no_override": ("исключение № {id} не найдено", "override {id} not found"),
    "no_object": ("{kind} {key!r} не найден(а) в CMDB", "{kind} {key!r} not found in the CMDB"),
    "bad_until": (
        "неверный срок {value!r}: ожидается ДД.ММ.ГГГГ или ДД.ММ.ГГГГ ЧЧ:ММ",
        "bad date {value!r}: expected DD.MM.YYYY or DD.MM.YYYY HH:MM",
    ),
    "targets": (
        "целей: {targets}; допущено: {allowed}; отказано: {refused}; по исключению: {overridden}",
        "targets: {targets}; allowed: {allowed}; refused: {refused}; by override: {overridden}",
    ),
    "refused": ("  ОТКАЗАНО {host}: {reasons}", "  REFUSED {host}: {reasons}"),
    "overridden": (
        "  по исключению № {ids} {host}: {reasons}",
        "  by override {ids} {host}: {reasons}",
    ),
    "run_started": ("запуск № {id}{check}", "run {id}{check}"),
    "check": (" (режим проверки, без изменений)", " (check mode, nothing changed)"),
    "all_refused": (
        "запуск № {id}: все цели отклонены, сценарий не запускался",
        "run {id}: every target refused, the playbook did not run",
    ),
    "finished": (
        "запуск № {id}: {status}; ok={ok} changed={changed} failed={failed} "
        "unreachable={unreachable} skipped={skipped}",
        "run {id}: {status}; ok={ok} changed={changed} failed={failed} "
        "unreachable={unreachable} skipped={skipped}",
    ),
    "status.running": ("выполняется", "running"),
    "status.successful": ("успешно", "successful"),
    "status.failed": ("с ошибками", "failed"),
    "status.refused": ("отклонён", "refused"),
    "status.error": ("ошибка запуска", "error"),
    "override.added": (
        "исключение № {id}: {kind} {key} до {until}, разрешил {by}",
        "override {id}: {kind} {key} until {until}, approved by {by}",
    ),
    "override.revoked": ("исключение № {id} отозвано", "override {id} revoked"),
    "override.already": (
        "исключение № {id} уже было отозвано",
        "override {id} was already revoked",
    ),
    "override.header": (
        "№|объект|причина|разрешил|действует до|создал|отозвано",
        "id|object|reason|approved by|valid until|created by|revoked",
    ),
    "runs.header": (
        "№|начало|сценарий|ограничение|проверка|кто|итог|хостов|ok|changed|failed|unreach.|отказано",
        "id|started|playbook|limit|check|who|status|hosts|ok|changed|failed|unreach.|refused",
    ),
    "events.header": ("№|хост|задача|итог|сообщение", "#|host|task|result|message"),
    "total": ("(записей: {count})", "({count} rows)"),
    "yes": ("да", "yes"),
    "written": ("записано: {path}", "written: {path}"),
    "bad_verification": (
        "файл проверки не читается как отчёт JUnit: {detail}",
        "verification file is not a readable JUnit report: {detail}",
    ),
    "xlsx_stdout": (
        "для формата xlsx укажите файл: -o ФАЙЛ",
        "the xlsx format needs an output file: -o FILE",
    ),
}


def _m(locale: str, key: str, /, **params: Any) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


# --- kontur inventory ----------------------------------------------------------------------------


def register_inventory(sub: Any) -> None:
    """Declare ``kontur inventory [--list | --host NAME]``."""
    parser = sub.add_parser("inventory", help=_m("ru", "help.inventory"))
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help=_m("ru", "help.list"))
    what.add_argument("--host", metavar="NAME", help=_m("ru", "help.host"))
    parser.set_defaults(handler=_inventory)


def _inventory(args: argparse.Namespace, ctx: CliContext) -> int:
    from provision.inventory import build_inventory, dumps

    inventory = build_inventory(ctx.engine())
    if args.host is not None:
        data = dumps(inventory["_meta"]["hostvars"].get(args.host, {}))
    else:
        data = dumps(inventory)
    _write(ctx, data)
    return 0


def _write(ctx: CliContext, data: bytes) -> None:
    """Bytes to the command's output (the real stdout as bytes, else as text)."""
    if ctx.out is sys.stdout:
        ctx.out.flush()
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.buffer.flush()
    else:
        ctx.print(data.decode("utf-8"))


def inventory_script(argv: Sequence[str]) -> int:
    """``inventory/kontur_cmdb.py --list | --host NAME``: what Ansible's script plugin runs."""
    from cmdb.errors import DatabaseUnreachable, KonturError, SchemaNotCurrent
    from cmdb.i18n import t
    from cmdb.settings import load_settings

    parser = argparse.ArgumentParser(prog="kontur_cmdb.py")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", action="store_true")
    what.add_argument("--host")
    args = parser.parse_args(argv)
    ctx: CliContext | None = None
    try:
        ctx = CliContext(load_settings())
        return _inventory(args, ctx)
    except SchemaNotCurrent as exc:
        locale = ctx.locale if ctx else "ru"
        current = exc.current or "—"
        sys.stderr.write(t(locale, "cli.schema_missing", current=current, head=exc.head) + "\n")
        return 2
    except DatabaseUnreachable as exc:
        url = ctx.safe_url() if ctx else "?"
        locale = ctx.locale if ctx else "ru"
        sys.stderr.write(t(locale, "cli.db_unreachable", url=url, detail=exc) + "\n")
        return 2
    except KonturError as exc:
        sys.stderr.write(f"kontur_cmdb.py: {exc}\n")
        return 2
    finally:
        if ctx is not None:
            ctx.close()


# --- kontur provision ----------------------------------------------------------------------------


def register_provision(sub: Any) -> None:
    """Declare ``kontur provision``: a run, or ``override``, ``runs``, ``show``, ``export``."""
    parser = sub.add_parser(
        "provision",
        help=_m("ru", "help.provision"),
        usage=_m("ru", "usage.provision"),
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _run_options(parser)
    parser.add_argument("words", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(handler=_provision)


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit", "-l", metavar="PATTERN", help="ограничить хосты (шаблон Ansible)"
    )
    parser.add_argument("--check", "-C", action="store_true", help="режим проверки: показать diff")
    parser.add_argument("--tags", "-t", metavar="TAGS", help="только задачи с этими тегами")
    parser.add_argument("--inventory", "-i", type=Path, metavar="DIR", help="каталог инвентаря")


def _subparser(prog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"kontur provision {prog}")


def _provision(args: argparse.Namespace, ctx: CliContext) -> int:
    words: list[str] = list(args.words)
    action = words[0] if words else None
    if action == "override":
        return _override(words[1:], ctx)
    if action == "runs":
        parser = _subparser("runs")
        parser.add_argument("--last", type=int, default=20, metavar="N")
        return _runs(parser.parse_args(words[1:]), ctx)
    if action == "show":
        parser = _subparser("show")
        parser.add_argument("run_id", type=int, metavar="RUN_ID")
        parser.add_argument("--host")
        parser.add_argument("--status", nargs="+", choices=_event_statuses())
        return _show(parser.parse_args(words[1:]), ctx)
    if action == "export":
        parser = _subparser("export")
        parser.add_argument("run_id", type=int, metavar="RUN_ID")
        parser.add_argument("--format", choices=("json", "xlsx"), default="json")
        parser.add_argument("-o", "--output", type=Path, metavar="FILE")
        parser.add_argument("--verification", type=Path, nargs="+", default=[], metavar="JUNIT")
        return _export(parser.parse_args(words[1:]), ctx)
    parser = _subparser("PLAYBOOK")
    parser.add_argument("playbook", type=Path, metavar="PLAYBOOK")
    _run_options(parser)
    inner = parser.parse_args(words)
    for name in ("limit", "tags", "inventory"):
        if getattr(inner, name) is None:
            setattr(inner, name, getattr(args, name))
    inner.check = inner.check or args.check
    return _run(inner, ctx)


def _event_statuses() -> list[str]:
    from cmdb.models import EventStatus

    return [s.value for s in EventStatus]


def _reasons(refusal: Any, locale: str) -> str:
    return "; ".join(refusal.reasons(locale))


def _run(args: argparse.Namespace, ctx: CliContext) -> int:
    from provision.gate import Decision
    from provision.runner import (
        DEFAULT_INVENTORY,
        EventView,
        PlaybookNotFound,
        RunRequest,
        provision,
    )

    locale = ctx.locale
    inventory_dir: Path = args.inventory or DEFAULT_INVENTORY
    if not inventory_dir.is_dir():
        raise CommandError(_m(locale, "no_inventory", path=inventory_dir), 2)
    request = RunRequest(args.playbook, limit=args.limit, check=args.check, tags=args.tags)

    def decided(decision: Decision, run_id: int) -> None:
        total = len(decision.allowed) + len(decision.refused)
        ctx.print(
            _m(locale, "run_started", id=run_id, check=_m(locale, "check") if args.check else "")
        )
        ctx.print(
            _m(
                locale,
                "targets",
                targets=total,
                allowed=len(decision.allowed),
                refused=len(decision.refused),
                overridden=len(decision.overridden),
            )
        )
        for refusal in decision.refused:
            ctx.print(
                _m(locale, "refused", host=refusal.ref.host, reasons=_reasons(refusal, locale))
            )
        for refusal in decision.overridden:
            ids = ", ".join(str(i) for i in refusal.override_ids)
            ctx.print(
                _m(
                    locale,
                    "overridden",
                    ids=ids,
                    host=refusal.ref.host,
                    reasons=_reasons(refusal, locale),
                )
            )

    def event(view: EventView) -> None:
        line = f"{view.status:<12} {view.host}  {view.task or ''}"
        if view.message and view.status in ("failed", "unreachable"):
            line += f": {view.message.splitlines()[0][:200] if view.message.strip() else ''}"
        ctx.print(line.rstrip())
        if view.diff:
            ctx.print(view.diff.rstrip("\n"))

    try:
        outcome = provision(
            ctx.engine(),
            request,
            actor=ctx.actor,
            database_url=ctx.settings.database_url,
            today=dt.datetime.now(ctx.settings.zone).date(),
            inventory_dir=inventory_dir,
            on_event=event,
            on_decision=decided,
        )
    except PlaybookNotFound as exc:
        raise CommandError(_m(locale, "no_playbook", path=exc), 2) from exc
    if outcome.status.value == "refused":
        ctx.print(_m(locale, "all_refused", id=outcome.run_id))
        return 1
    counts = {s: outcome.counts.get(s, 0) for s in _event_statuses()}
    ctx.print(
        _m(
            locale,
            "finished",
            id=outcome.run_id,
            status=_m(locale, f"status.{outcome.status.value}"),
            **counts,
        )
    )
    if outcome.status.value == "error":
        from provision.runner import get_run

        message = get_run(ctx.engine(), outcome.run_id).message
        if message:
            print(message.rstrip(), file=ctx.err)
        return 2
    return 0 if outcome.status.value == "successful" else 1


# --- overrides -----------------------------------------------------------------------------------


def _override(words: list[str], ctx: CliContext) -> int:
    parser = _subparser("override")
    actions = parser.add_subparsers(dest="action", metavar="add|list|revoke", required=True)
    add = actions.add_parser("add")
    target = add.add_mutually_exclusive_group(required=True)
    for flag in ("site", "device", "workstation", "vipnet-node", "attestation"):
        target.add_argument(f"--{flag}", metavar="KEY")
    add.add_argument("--reason", required=True)
    add.add_argument("--until", required=True, metavar="DD.MM.YYYY[ HH:MM]")
    add.add_argument("--approved-by", metavar="USER")
    listing = actions.add_parser("list")
    listing.add_argument("--all", action="store_true")
    revoke = actions.add_parser("revoke")
    revoke.add_argument("override_id", type=int, metavar="ID")
    args = parser.parse_args(words)
    if args.action == "add":
        return _override_add(args, ctx)
    if args.action == "list":
        return _override_list(args, ctx)
    return _override_revoke(args, ctx)


def _until(text: str, ctx: CliContext) -> dt.datetime:
    """DD.MM.YYYY means through the end of that day (23:59:59) in the region's zone."""
    from cmdb.fields import FieldError, parse_date, parse_datetime

    zone = ctx.settings.zone
    try:
        if ":" in text:
            return parse_datetime(text, zone)
        day = parse_date(text)
    except FieldError as exc:
        raise CommandError(_m(ctx.locale, "bad_until", value=text), 2) from exc
    end = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=zone)
    return end.astimezone(dt.UTC)


def _override_add(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.choices import label
    from cmdb.errors import NotFound
    from cmdb.i18n import fmt_datetime
    from provision.gate import OverrideRefused, add_override

    locale = ctx.locale
    kind, key = next(
        (flag, getattr(args, flag))
        for flag in ("site", "device", "workstation", "vipnet_node", "attestation")
        if getattr(args, flag) is not None
    )
    approver = args.approved_by or ctx.actor
    try:
        info = add_override(
            ctx.engine(),
            kind,
            key,
            reason=args.reason,
            valid_until=_until(args.until, ctx),
            approved_by=approver,
            actor=ctx.actor,
        )
    except OverrideRefused as exc:
        raise CommandError(exc.describe(locale), 1) from exc
    except NotFound as exc:
        raise CommandError(_m(locale, "no_object", kind=label(kind, locale), key=key), 1) from exc
    ctx.print(
        _m(
            locale,
            "override.added",
            id=info.id,
            kind=label(info.target_kind, locale),
            key=info.target_key,
            until=fmt_datetime(info.valid_until, ctx.settings.zone, locale),
            by=info.approved_by,
        )
    )
    return 0


def _override_list(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.choices import label
    from cmdb.cli.render import table
    from cmdb.i18n import fmt_datetime
    from provision.gate import list_overrides

    locale, zone = ctx.locale, ctx.settings.zone
    infos = list_overrides(ctx.engine(), live_only=not args.all)
    rows = [
        [
            i.id,
            f"{label(i.target_kind, locale)} {i.target_key}",
            i.reason,
            i.approved_by,
            fmt_datetime(i.valid_until, zone, locale),
            i.created_by,
            fmt_datetime(i.revoked_at, zone, locale),
        ]
        for i in infos
    ]
    ctx.print(table(_m(locale, "override.header").split("|"), rows))
    ctx.print(_m(locale, "total", count=len(rows)))
    return 0


def _override_revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.errors import NotFound
    from provision.gate import revoke_override

    try:
        changed = revoke_override(ctx.engine(), args.override_id, actor=ctx.actor)
    except NotFound as exc:
        raise CommandError(_m(ctx.locale, "no_override", id=args.override_id), 1) from exc
    key = "override.revoked" if changed else "override.already"
    ctx.print(_m(ctx.locale, key, id=args.override_id))
    return 0


# --- runs, show, export --------------------------------------------------------------------------


def _runs(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.cli.render import table
    from cmdb.i18n import fmt_datetime
    from provision.runner import list_runs

    locale, zone = ctx.locale, ctx.settings.zone
    runs = list_runs(ctx.engine(), limit=max(args.last, 0))
    rows = [
        [
            r.id,
            fmt_datetime(r.started_at, zone, locale),
            r.playbook,
            r.limit or "",
            _m(locale, "yes") if r.check_mode else "",
            r.actor,
            _m(locale, f"status.{r.status}"),
            r.hosts,
            r.counts["ok"],
            r.counts["changed"],
            r.counts["failed"],
            r.counts["unreachable"],
            len(r.refused),
        ]
        for r in runs
    ]
    ctx.print(table(_m(locale, "runs.header").split("|"), rows))
    ctx.print(_m(locale, "total", count=len(rows)))
    return 0


def _show(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.cli.render import table
    from cmdb.errors import NotFound
    from cmdb.i18n import fmt_datetime
    from provision.runner import get_run

    locale, zone = ctx.locale, ctx.settings.zone
    try:
        run = get_run(ctx.engine(), args.run_id, host=args.host, statuses=args.status)
    except NotFound as exc:
        raise CommandError(_m(locale, "no_run", id=args.run_id), 1) from exc
    check = _m(locale, "check") if run.check_mode else ""
    started = fmt_datetime(run.started_at, zone, locale)
    finished = fmt_datetime(run.finished_at, zone, locale)
    ctx.print(
        f"{_m(locale, 'run_started', id=run.id, check=check)}: "
        f"{run.playbook} {run.limit or ''} — {run.actor}, {started} … {finished}"
    )
    ctx.print(
        _m(locale, "finished", id=run.id, status=_m(locale, f"status.{run.status}"), **run.counts)
    )
    for r in run.refused:
        reasons = "; ".join(x["text"] for x in r["reasons"])
        ctx.print(_m(locale, "refused", host=r["host"], reasons=reasons))
    for r in run.overridden:
        reasons = "; ".join(x["text"] for x in r["reasons"])
        ids = ", ".join(str(i) for i in r.get("override_ids", []))
        ctx.print(_m(locale, "overridden", ids=ids, host=r["host"], reasons=reasons))
    rows = [
        [e.seq, e.host, e.task or "", e.status, (e.message or "").split("\n")[0]]
        for e in run.events
    ]
    ctx.print(table(_m(locale, "events.header").split("|"), rows, max_width=80))
    for e in run.events:
        if e.diff:
            ctx.print(f"--- {e.host}: {e.task}")
            ctx.print(e.diff.rstrip("\n"))
    return 0


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.errors import NotFound
    from provision.evidence import BadVerification, evidence, to_json, to_xlsx

    locale = ctx.locale
    if args.format == "xlsx" and args.output is None:
        raise CommandError(_m(locale, "xlsx_stdout"), 2)
    try:
        document = evidence(ctx.engine(), args.run_id, args.verification)
    except NotFound as exc:
        raise CommandError(_m(locale, "no_run", id=args.run_id), 1) from exc
    except BadVerification as exc:
        raise CommandError(_m(locale, "bad_verification", detail=exc), 1) from exc
    data = to_json(document) if args.format == "json" else to_xlsx(document, ctx.settings.zone)
    if args.output is None:
        _write(ctx, data)
        return 0
    args.output.write_bytes(data)
    ctx.print(_m(locale, "written", path=args.output))
    return 0
