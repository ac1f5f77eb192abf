"""``kontur db``: apply migrations and show the schema revision."""

from __future__ import annotations

import argparse
from typing import Any

from cmdb.cli.context import CliContext
from cmdb.i18n import t


def register(sub: Any) -> None:
    parser = sub.add_parser("db", help="схема базы данных: миграции")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="применить миграции до последней версии")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(handler=_upgrade)
    cur = actions.add_parser("current", help="показать текущую и последнюю ревизии")
    cur.set_defaults(handler=_current)


def _upgrade(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.migrate import upgrade

    before, after = upgrade(ctx.engine(require_current=False), args.revision)
    if before == after:
        ctx.print(t(ctx.locale, "cli.up_to_date", rev=after))
    else:
        ctx.print(t(ctx.locale, "cli.upgraded", before=before or "—", after=after))
    return 0


def _current(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.migrate import current_revision, head_revision

    current = current_revision(ctx.engine(require_current=False))
    head = head_revision()
    ctx.print(f"{ctx.safe_url()}: {current or '—'} (head {head})")
    return 0 if current == head else 1
