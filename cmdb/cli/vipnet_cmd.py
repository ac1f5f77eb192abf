"""``kontur import vipnet-iplir FILE`` and ``kontur import vipnet-nodename FILE``.

Both read a ViPNet file, compare it with the CMDB and print the differences::

    + 0x07c40010 «Имя»                           in the file, not in the CMDB
    - 0x07c40002 «Имя»                           in the CMDB, not in the file (never deleted)
    ~ 0x07c40001 наименование: «было» → «стало»   a field differs

Without ``--apply`` nothing is written (the changes are still validated by the importer, so an
``--apply`` that would fail fails now); with ``--apply`` missing and changed nodes are written
through the importer (audit source = the file); ``--apply --dry-run`` validates only.
Exit codes: 0 done, 1 data errors (every ``FILE:ROW: COLUMN: reason`` on stderr, nothing
written), 2 usage errors (no such file, unknown encoding).
"""

from __future__ import annotations

import argparse
import codecs
import shlex
from pathlib import Path
from typing import Any, Final

from cmdb.choices import label
from cmdb.cli.context import CliContext, CommandError
from cmdb.errors import ImportFailed
from cmdb.kinds import KINDS
from cmdb.vipnet_files import parse_iplir, parse_nodename, translate
from cmdb.vipnet_reconcile import (
    Reconciliation,
    apply,
    network_label,
    nodes_from_iplir,
    nodes_from_nodename,
    reconcile,
)

#: User-facing messages of this command: key → (Russian, English).
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "not_found": ("{file}: файл не найден", "{file}: file not found"),
    "unreadable": ("{file}: не удаётся прочитать файл: {detail}", "{file}: cannot read: {detail}"),
    "bad_encoding": (
        "неизвестная кодировка {encoding!r} (например: koi8-r, cp866, utf-8)",
        "unknown encoding {encoding!r} (e.g. koi8-r, cp866, utf-8)",
    ),
    "failed": (
        "{file}: ошибок: {count}; ничего не записано",
        "{file}: {count} error(s); nothing written",
    ),
    "header": (
        "Сверка узлов ViPNet с CMDB: {file} ({format}, кодировка {encoding})",
        "ViPNet nodes vs the CMDB: {file} ({format}, encoding {encoding})",
    ),
    "networks": ("Сети: {networks}", "Networks: {networks}"),
    "counts": (
        "Узлов в файле: {in_file}, в CMDB в этих сетях: {in_cmdb}. Новых: {missing}, "
        "изменённых: {changed}, лишних: {extra}, без изменений: {unchanged}",
        "Nodes in the file: {in_file}, in the CMDB in these networks: {in_cmdb}. New: "
        "{missing}, changed: {changed}, extra: {extra}, unchanged: {unchanged}",
    ),
    "extra_kept": (
        "Лишние узлы (есть в CMDB, нет в файле) только показаны: импорт их не удаляет.",
        "Extra nodes (in the CMDB, not in the file) are only reported: the import never "
        "deletes them.",
    ),
    "nothing_to_apply": (
        "Расхождений, которые можно применить, нет: ничего не записано.",
        "Nothing to apply: nothing written.",
    ),
    "how_to_apply": (
        "Ничего не записано. Чтобы применить: {command}",
        "Nothing written. To apply: {command}",
    ),
    "dry_run": (
        "Пробный прогон: проверено, ничего не записано (создано бы {created}, изменено бы "
        "{updated}).",
        "Dry run: validated, nothing written (would create {created}, update {updated}).",
    ),
    "applied": (
        "Записано в CMDB: создано {created}, изменено {updated} (журнал аудита, источник {file}).",
        "Written to the CMDB: created {created}, updated {updated} (audit journal, source {file}).",
    ),
    "yes": ("да", "yes"),
    "no": ("нет", "no"),
}

_FORMATS: Final = {"iplir": "iplir.conf", "nodename": "nodename.doc"}
_COMMANDS: Final = {"iplir": "vipnet-iplir", "nodename": "vipnet-nodename"}


def _t(ctx: CliContext, key: str, /, **params: Any) -> str:
    return translate(MESSAGES, ctx.locale, key, **params)


def import_iplir(args: argparse.Namespace, ctx: CliContext) -> int:
    """``kontur import vipnet-iplir FILE [--apply] [--encoding ENC] [--dry-run]``."""
    return _run(args, ctx, "iplir")


def import_nodename(args: argparse.Namespace, ctx: CliContext) -> int:
    """``kontur import vipnet-nodename FILE [--apply] [--encoding ENC] [--dry-run]``."""
    return _run(args, ctx, "nodename")


def _run(args: argparse.Namespace, ctx: CliContext, file_format: str) -> int:
    path = Path(args.file)
    source = str(path)
    encoding: str | None = getattr(args, "encoding", None)
    do_apply = bool(getattr(args, "apply", False))
    dry_run = bool(getattr(args, "dry_run", False))
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise CommandError(_t(ctx, "bad_encoding", encoding=encoding), 2) from None
    if not path.is_file():
        raise CommandError(_t(ctx, "not_found", file=source), 2)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CommandError(_t(ctx, "unreadable", file=source, detail=exc.strerror), 2) from exc
    try:
        if file_format == "iplir":
            config = parse_iplir(data, source, encoding, locale=ctx.locale)
            nodes, used = nodes_from_iplir(config), config.encoding
        else:
            entries = parse_nodename(data, source, encoding, locale=ctx.locale)
            nodes, used = nodes_from_nodename(entries), entries.encoding
        engine = ctx.engine()
        result = reconcile(
            engine, source, nodes, file_format=file_format, encoding=used, locale=ctx.locale
        )
        # Validate what --apply would write even when only reporting (a dry run writes nothing).
        outcome = apply(
            engine,
            result,
            actor=ctx.actor,
            zone=ctx.settings.zone,
            locale=ctx.locale,
            dry_run=dry_run or not do_apply,
        )
    except ImportFailed as exc:
        for error in exc.errors:
            print(error, file=ctx.err)
        raise CommandError(_t(ctx, "failed", file=source, count=len(exc.errors)), 1) from exc
    for line in report(result, ctx.locale):
        ctx.print(line)
    if outcome is None:
        ctx.print(_t(ctx, "nothing_to_apply"))
    elif not do_apply:
        command = shlex.join(["kontur", "import", _COMMANDS[file_format], source, "--apply"])
        if encoding:
            command += f" --encoding {shlex.quote(encoding)}"
        ctx.print(_t(ctx, "how_to_apply", command=command))
    elif dry_run:
        ctx.print(_t(ctx, "dry_run", created=outcome.created, updated=outcome.updated))
    else:
        ctx.print(_t(ctx, "applied", created=outcome.created, updated=outcome.updated, file=source))
    return 0


def report(result: Reconciliation, locale: str = "ru") -> list[str]:
    """The report lines: header, counts, then one line per difference (+ missing, - extra,
    ~ changed field)."""

    def t(key: str, /, **params: Any) -> str:
        return translate(MESSAGES, locale, key, **params)

    networks = ", ".join(f"{n} ({network_label(n)})" for n in result.networks)
    lines = [
        t(
            "header",
            file=result.source,
            format=_FORMATS.get(result.file_format, result.file_format),
            encoding=result.encoding,
        ),
        t("networks", networks=networks),
        t(
            "counts",
            in_file=result.file_nodes,
            in_cmdb=result.cmdb_nodes,
            missing=len(result.missing),
            changed=len(result.changed),
            extra=len(result.extra),
            unchanged=result.unchanged,
        ),
    ]
    lines.extend(f"+ {node.vipnet_id} «{node.name}»" for node in result.missing)
    lines.extend(f"- {node.vipnet_id} «{node.name}»" for node in result.extra)
    spec = KINDS["vipnet-nodes"]
    for node in result.changed:
        for change in node.changes:
            title = spec.column(change.field).ru if locale == "ru" else change.field
            before = _value(change.field, change.before, locale)
            after = _value(change.field, change.after, locale)
            lines.append(f"~ {node.vipnet_id} {title}: {before} → {after}")
    if result.extra:
        lines.append(t("extra_kept"))
    return lines


def _value(column: str, value: Any, locale: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return translate(MESSAGES, locale, "yes" if value else "no")
    if column == "kind":
        return label(str(value), locale)
    return f"«{value}»"
