"""``kontur import`` and ``kontur export`` of every CMDB entity kind."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cmdb.cli.context import CliContext, CommandError
from cmdb.cli.special_imports import SPECIAL_IMPORTS
from cmdb.i18n import t

#: Kept in step with cmdb.kinds.KINDS (checked by a test) so registering stays import-light.
KIND_NAMES = (
    "regions", "districts", "organizations", "sites", "devices", "vipnet-networks",
    "vipnet-nodes", "workstations", "channels", "attestations", "control-points",
    "indicators", "maintenance",
)  # fmt: skip


def register_import(sub: Any) -> None:
    parser = sub.add_parser(
        "import",
        help="загрузить файл CSV/XLSX/JSON/YAML в CMDB (всё или ничего)",
        description="Загрузка записей одного вида из файла. При любой ошибке не записывается "
        "ничего, а все ошибки выводятся как ФАЙЛ:СТРОКА: СТОЛБЕЦ: причина.",
    )
    names = (*KIND_NAMES, *SPECIAL_IMPORTS)
    parser.add_argument("kind", choices=names, metavar="KIND", help=", ".join(names))
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument(
        "--dry-run", action="store_true", help="проверить и показать итог, не записывая"
    )
    parser.add_argument(
        "--apply",
        action="store_true",
        help="vipnet-iplir, vipnet-nodename: применить расхождения (по умолчанию только отчёт)",
    )
    parser.add_argument(
        "--encoding", help="кодировка CSV (по умолчанию UTF-8 или cp1251 — определяется)"
    )
    parser.set_defaults(handler=_import)


def register_export(sub: Any) -> None:
    parser = sub.add_parser("export", help="выгрузить записи одного вида")
    parser.add_argument("kind", choices=KIND_NAMES, metavar="KIND", help=", ".join(KIND_NAMES))
    parser.add_argument("--format", choices=("csv", "xlsx", "json", "yaml"), default="csv")
    parser.add_argument("-o", "--output", type=Path, help="файл (по умолчанию стандартный вывод)")
    parser.add_argument(
        "--headers",
        choices=("en", "ru"),
        default="en",
        help="имена столбцов: английские (по умолчанию) или русские",
    )
    parser.set_defaults(handler=_export)


def _import(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.kind in SPECIAL_IMPORTS:
        import importlib

        module, _, function = SPECIAL_IMPORTS[args.kind].partition(":")
        handler = getattr(importlib.import_module(module), function)
        code: int = handler(args, ctx)
        return code
    from cmdb.errors import ImportFailed
    from cmdb.importer import import_file

    engine = ctx.engine()
    try:
        result = import_file(
            engine,
            args.kind,
            args.file,
            actor=ctx.actor,
            zone=ctx.settings.zone,
            locale=ctx.locale,
            dry_run=args.dry_run,
            encoding=args.encoding,
        )
    except ImportFailed as exc:
        raise ctx.import_failed(args.file, exc.errors) from exc
    ctx.print(
        t(
            ctx.locale,
            "cli.imported",
            file=args.file,
            kind=args.kind,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
        )
    )
    if args.dry_run:
        ctx.print(t(ctx.locale, "cli.dry_run"))
    return 0


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.exporter import export_records, render

    native = args.format != "csv"
    header, records = export_records(
        ctx.engine(), args.kind, ctx.settings.zone, native=native, headers=args.headers
    )
    data = render(header, records, args.format, args.kind)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.output.with_name(args.output.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(args.output)
        print(
            t(ctx.locale, "cli.exported", kind=args.kind, count=len(records), target=args.output),
            file=ctx.err,
        )
    elif args.format == "xlsx" and sys.stdout.isatty():
        raise CommandError("XLSX: укажите --output FILE", 2)
    else:
        out = getattr(ctx.out, "buffer", None)
        if out is not None:
            out.write(data)
            out.flush()
        else:
            ctx.out.write(data.decode("utf-8"))
    return 0
