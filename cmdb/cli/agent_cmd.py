"""``kontur agent token create|revoke|list``: the tokens ``kontur-agent`` pushes heartbeats with.

A new token is printed once (or written to a new file with mode 0600) and never again: the CMDB
keeps only its SHA-256. ``list`` shows names, bindings and use, never tokens or hashes.
Exit codes: 0 ok, 1 data errors (unknown workstation/device/token, duplicate name), 2 usage.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from cmdb.cli.context import CliContext, CommandError

#: User-facing messages: key → (Russian, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "help.agent": ("агенты АРМ и серверов (kontur-agent)", "AWP and server agents (kontur-agent)"),
    "help.token": ("токены агентов", "agent tokens"),
    "help.create": (
        "создать токен агента, привязанный к АРМ или устройству (показывается один раз)",
        "create an agent token bound to a workstation or device (shown once)",
    ),
    "help.revoke": ("отозвать токен агента", "revoke an agent token"),
    "help.list": ("список токенов агентов (без самих токенов)", "list agent tokens (never tokens)"),
    "help.name": (
        "имя токена: латиница, цифры, «.», «_», «-», до 64 символов",
        "token name: Latin letters, digits, '.', '_', '-', up to 64 characters",
    ),
    "help.workstation": ("имя хоста АРМ", "the workstation's hostname"),
    "help.device": ("имя устройства (сервера)", "the device's (server's) name"),
    "help.token_file": (
        "записать токен в новый файл (права 0600) вместо вывода на экран",
        "write the token to a new file (mode 0600) instead of printing it",
    ),
    "bad_name": (
        "недопустимое имя токена {name!r}: латиница, цифры, «.», «_», «-», до 64 символов",
        "invalid token name {name!r}: Latin letters, digits, '.', '_', '-', up to 64 characters",
    ),
    "no_object": ("{kind} {key!r} не найден(а) в CMDB", "{kind} {key!r} not found in the CMDB"),
    "duplicate": ("токен {name!r} уже существует", "token {name!r} already exists"),
    "no_token": ("токен {name!r} не найден", "token {name!r} not found"),
    "file_exists": (
        "файл {path} уже существует: токен не создан",
        "file {path} already exists: no token created",
    ),
    "file_error": (
        "не удаётся создать файл {path}: {detail}; токен не создан",
        "cannot create file {path}: {detail}; no token created",
    ),
    "created": (
        "создан токен {name!r} для {object}. Он показан один раз и нигде не хранится: "
        "передайте его агенту (KONTUR_AGENT_TOKEN или KONTUR_AGENT_TOKEN_FILE).",
        "token {name!r} created for {object}. It is shown once and stored nowhere: "
        "give it to the agent (KONTUR_AGENT_TOKEN or KONTUR_AGENT_TOKEN_FILE).",
    ),
    "written": (
        "создан токен {name!r} для {object}; записан в {path} (права 0600)",
        "token {name!r} created for {object}; written to {path} (mode 0600)",
    ),
    "revoked": ("токен {name!r} отозван", "token {name!r} revoked"),
    "already_revoked": ("токен {name!r} уже был отозван", "token {name!r} was already revoked"),
    "header": (
        "имя|объект|создан|последнее использование|отозван",
        "name|object|created|last used|revoked",
    ),
    "yes": ("да", "yes"),
    "total": ("(токенов: {count})", "({count} tokens)"),
}


def _m(locale: str, key: str, /, **params: Any) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


def _token_name(text: str) -> str:
    from cmdb.agent_tokens import valid_name

    if not valid_name(text):
        raise argparse.ArgumentTypeError(_m("ru", "bad_name", name=text))
    return text


def register(sub: Any) -> None:
    """Declare ``kontur agent token create|revoke|list``."""
    parser = sub.add_parser("agent", help=_m("ru", "help.agent"))
    actions = parser.add_subparsers(dest="agent_action", metavar="ACTION", required=True)
    token = actions.add_parser("token", help=_m("ru", "help.token"))
    token_actions = token.add_subparsers(dest="token_action", metavar="ACTION", required=True)

    create = token_actions.add_parser("create", help=_m("ru", "help.create"))
    create.add_argument("name", type=_token_name, metavar="NAME", help=_m("ru", "help.name"))
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--workstation", metavar="HOST", help=_m("ru", "help.workstation"))
    target.add_argument("--device", metavar="NAME", help=_m("ru", "help.device"))
    create.add_argument("--token-file", type=Path, metavar="FILE", help=_m("ru", "help.token_file"))
    create.set_defaults(handler=_create)

    revoke = token_actions.add_parser("revoke", help=_m("ru", "help.revoke"))
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(handler=_revoke)

    listing = token_actions.add_parser("list", help=_m("ru", "help.list"))
    listing.set_defaults(handler=_list)


def _object(kind: str, key: str, locale: str) -> str:
    from cmdb.choices import label

    return f"{label(kind, locale)} {key}"


def _create(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.agent_tokens import create_token
    from cmdb.choices import ObjectKind, label
    from cmdb.errors import Conflict, NotFound

    locale = ctx.locale
    if args.workstation is not None:
        kind, key = ObjectKind.WORKSTATION, args.workstation
    else:
        kind, key = ObjectKind.DEVICE, args.device
    engine = ctx.engine()
    # The file is made first (exclusively, 0600), so a token is never created and then lost.
    fd: int | None = None
    if args.token_file is not None:
        try:
            fd = os.open(args.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise CommandError(_m(locale, "file_exists", path=args.token_file), 1) from exc
        except OSError as exc:
            raise CommandError(
                _m(locale, "file_error", path=args.token_file, detail=exc.strerror), 1
            ) from exc
    try:
        info, token = create_token(
            engine, args.name, object_kind=kind, object_key=key, actor=ctx.actor, source="cli"
        )
    except (NotFound, Conflict) as exc:
        if fd is not None:
            os.close(fd)
            args.token_file.unlink()
        if isinstance(exc, NotFound):
            message = _m(locale, "no_object", kind=label(kind, locale), key=key)
        else:
            message = _m(locale, "duplicate", name=args.name)
        raise CommandError(message, 1) from exc
    target = _object(info.object_kind, info.object_key, locale)
    if fd is not None:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
        ctx.print(_m(locale, "written", name=info.name, object=target, path=args.token_file))
        return 0
    print(_m(locale, "created", name=info.name, object=target), file=ctx.err)
    ctx.print(token)
    return 0


def _revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.agent_tokens import revoke_token
    from cmdb.errors import NotFound

    try:
        changed = revoke_token(ctx.engine(), args.name, actor=ctx.actor, source="cli")
    except NotFound as exc:
        raise CommandError(_m(ctx.locale, "no_token", name=args.name), 1) from exc
    ctx.print(_m(ctx.locale, "revoked" if changed else "already_revoked", name=args.name))
    return 0


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.agent_tokens import list_tokens
    from cmdb.cli.render import table
    from cmdb.i18n import fmt_datetime

    locale, zone = ctx.locale, ctx.settings.zone
    tokens = list_tokens(ctx.engine())
    rows = [
        [
            info.name,
            _object(info.object_kind, info.object_key, locale),
            fmt_datetime(info.created_at, zone, locale),
            fmt_datetime(info.last_used_at, zone, locale),
            _m(locale, "yes") if info.revoked else "",
        ]
        for info in tokens
    ]
    ctx.print(table(_m(locale, "header").split("|"), rows))
    ctx.print(_m(locale, "total", count=len(tokens)))
    return 0
