"""The ``kontur`` command: one console script whose subcommands come from each layer.

Subcommands are registered through the ``kontur.commands`` entry-point group, so this core knows
nothing of ``api`` or ``collectors``; a registration function only declares arguments, and the
subcommand's heavy imports happen when it runs. Exit codes: 0 ok, 1 data errors, 2 usage,
configuration or database-state errors.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from cmdb.cli.context import CliContext, CommandError
from cmdb.errors import ConfigError, DatabaseUnreachable, SchemaNotCurrent
from cmdb.i18n import t
from cmdb.settings import load_settings

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "Kontur: CMDB, инвентаризация и мониторинг единого цифрового контура здравоохранения региона."
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="kontur", description=DESCRIPTION)
    parser.add_argument(
        "--locale", choices=("ru", "en"), help="язык сообщений (по умолчанию KONTUR_LOCALE или ru)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for ep in sorted(entry_points(group="kontur.commands"), key=lambda e: e.name):
        ep.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kontur``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(t(args.locale or "ru", "cli.config", detail=exc), file=sys.stderr)
        return 2
    if args.locale:
        settings = settings.model_copy(update={"locale": args.locale})
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    ctx = CliContext(settings)
    locale = settings.locale
    try:
        code: int = args.handler(args, ctx)
    except SchemaNotCurrent as exc:
        print(
            t(locale, "cli.schema_missing", current=exc.current or "—", head=exc.head),
            file=sys.stderr,
        )
        return 2
    except DatabaseUnreachable as exc:
        print(t(locale, "cli.db_unreachable", url=ctx.safe_url(), detail=exc), file=sys.stderr)
        return 2
    except CommandError as exc:
        print(str(exc), file=sys.stderr)
        return exc.code
    finally:
        ctx.close()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
