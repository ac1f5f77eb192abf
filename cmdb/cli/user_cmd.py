"""``kontur user add|passwd|set|list|token create|token revoke``: people and API tokens.

Passwords are read from the terminal (twice, not echoed), from standard input
(``--password-stdin``, one line) or generated (``--generate``, printed once). They never appear
on the command line, in the journal or in logs. Exit codes: 0 ok, 1 data errors, 2 usage.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from typing import Any

from cmdb.cli.context import CliContext, CommandError

MESSAGES: dict[str, tuple[str, str]] = {
    "help.user": ("пользователи веб-интерфейса и API", "users of the web UI and the API"),
    "help.add": ("создать пользователя", "create a user"),
    "help.passwd": ("сменить пароль пользователя", "change a user's password"),
    "help.set": ("изменить роль, имя, язык или заблокировать", "change role, name, locale or lock"),
    "help.list": ("список пользователей", "list users"),
    "help.token": ("API-токены пользователя", "a user's API tokens"),
    "help.token_create": ("выпустить API-токен (показывается один раз)", "issue an API token"),
    "help.token_revoke": ("отозвать API-токен", "revoke an API token"),
    "help.role": ("роль: {roles}", "role: {roles}"),
    "help.stdin": ("прочитать пароль из стандартного ввода", "read the password from stdin"),
    "help.generate": ("сгенерировать пароль и показать его", "generate a password and show it"),
    "help.no_password": (
        "без пароля: только API-токены (например, для агентов)",
        "no password: API tokens only (e.g. for agents)",
    ),
    "prompt": ("Пароль для {user}: ", "Password for {user}: "),
    "prompt2": ("Повторите пароль: ", "Repeat the password: "),
    "mismatch": ("пароли не совпадают; ничего не изменено", "passwords differ; nothing changed"),
    "no_tty": (
        "нет терминала для ввода пароля: используйте --password-stdin или --generate",
        "no terminal to read a password: use --password-stdin or --generate",
    ),
    "created": ("пользователь {user} ({role}) создан", "user {user} ({role}) created"),
    "generated": ("пароль (показан один раз): {password}", "password (shown once): {password}"),
    "changed": ("пользователь {user} изменён", "user {user} changed"),
    "token": (
        "токен {name} для {user} (показан один раз, хранится только его хеш):\n{token}",
        "token {name} for {user} (shown once, only its hash is kept):\n{token}",
    ),
    "revoked": ("токен {name} пользователя {user} отозван", "token {name} of {user} revoked"),
    "header": ("имя|ФИО|роль|активен|последний вход", "username|name|role|active|last sign-in"),
    "not_found": ("{what} не найден: {key}", "{what} not found: {key}"),
    "nothing": ("не указано, что менять", "nothing to change given"),
}


def _m(locale: str, key: str, /, **params: Any) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


def register(sub: Any) -> None:
    from cmdb.choices import Role

    roles = ", ".join(r.value for r in Role)
    parser = sub.add_parser("user", help=_m("ru", "help.user"))
    actions = parser.add_subparsers(dest="user_action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help=_m("ru", "help.add"))
    add.add_argument("username")
    add.add_argument("--role", required=True, help=_m("ru", "help.role", roles=roles))
    add.add_argument("--full-name", default="")
    add.add_argument("--locale", dest="user_locale", choices=("ru", "en"), default="ru")
    source = add.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true", help=_m("ru", "help.stdin"))
    source.add_argument("--generate", action="store_true", help=_m("ru", "help.generate"))
    source.add_argument("--no-password", action="store_true", help=_m("ru", "help.no_password"))
    add.set_defaults(handler=_add)

    passwd = actions.add_parser("passwd", help=_m("ru", "help.passwd"))
    passwd.add_argument("username")
    source = passwd.add_mutually_exclusive_group()
    source.add_argument("--password-stdin", action="store_true", help=_m("ru", "help.stdin"))
    source.add_argument("--generate", action="store_true", help=_m("ru", "help.generate"))
    passwd.set_defaults(handler=_passwd, no_password=False)

    change = actions.add_parser("set", help=_m("ru", "help.set"))
    change.add_argument("username")
    change.add_argument("--role", help=_m("ru", "help.role", roles=roles))
    change.add_argument("--full-name")
    change.add_argument("--locale", dest="user_locale", choices=("ru", "en"))
    state = change.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true")
    state.add_argument("--enable", action="store_true")
    change.set_defaults(handler=_set)

    listing = actions.add_parser("list", help=_m("ru", "help.list"))
    listing.set_defaults(handler=_list)

    token = actions.add_parser("token", help=_m("ru", "help.token"))
    token_actions = token.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    create = token_actions.add_parser("create", help=_m("ru", "help.token_create"))
    create.add_argument("username")
    create.add_argument("name")
    create.add_argument("--days", type=int, help="срок действия в днях (по умолчанию бессрочно)")
    create.set_defaults(handler=_token_create)
    revoke = token_actions.add_parser("revoke", help=_m("ru", "help.token_revoke"))
    revoke.add_argument("username")
    revoke.add_argument("name")
    revoke.set_defaults(handler=_token_revoke)


def _password(args: argparse.Namespace, ctx: CliContext) -> str | None:
    if getattr(args, "no_password", False):
        return None
    if args.generate:
        return secrets.token_urlsafe(15)
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError(_m(ctx.locale, "no_tty"), 2)
    first = getpass.getpass(_m(ctx.locale, "prompt", user=args.username))
    second = getpass.getpass(_m(ctx.locale, "prompt2"))
    if first != second:
        raise CommandError(_m(ctx.locale, "mismatch"), 1)
    return first


def _fail(exc: Exception, ctx: CliContext) -> CommandError:
    from cmdb.errors import NotFound

    if isinstance(exc, NotFound):
        names = {"user": ("пользователь", "user"), "api_token": ("API-токен", "API token")}
        ru, en = names.get(exc.kind, (exc.kind, exc.kind))
        what = en if ctx.locale == "en" else ru
        return CommandError(_m(ctx.locale, "not_found", what=what, key=exc.key), 1)
    return CommandError(str(exc), 1)


def _add(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.errors import KonturError
    from cmdb.users import check_password, check_role, check_username, create_user

    try:
        check_username(args.username)
        check_role(args.role)
        password = _password(args, ctx)
        if password is not None:
            check_password(password)
        create_user(
            ctx.engine(),
            args.username,
            args.role,
            password=password,
            full_name=args.full_name,
            locale=args.user_locale,
            actor=ctx.actor,
        )
    except KonturError as exc:
        raise _fail(exc, ctx) from exc
    ctx.print(_m(ctx.locale, "created", user=args.username, role=args.role))
    if args.generate and password is not None:
        ctx.print(_m(ctx.locale, "generated", password=password))
    return 0


def _passwd(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.errors import KonturError
    from cmdb.users import check_password, update_user

    try:
        password = _password(args, ctx)
        assert password is not None
        check_password(password)
        update_user(ctx.engine(), args.username, password=password, actor=ctx.actor)
    except KonturError as exc:
        raise _fail(exc, ctx) from exc
    ctx.print(_m(ctx.locale, "changed", user=args.username))
    if args.generate:
        ctx.print(_m(ctx.locale, "generated", password=password))
    return 0


def _set(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.errors import KonturError
    from cmdb.users import update_user

    active = False if args.disable else (True if args.enable else None)
    if all(v is None for v in (args.role, args.full_name, args.user_locale, active)):
        raise CommandError(_m(ctx.locale, "nothing"), 2)
    try:
        update_user(
            ctx.engine(),
            args.username,
            actor=ctx.actor,
            role=args.role,
            full_name=args.full_name,
            locale=args.user_locale,
            is_active=active,
        )
    except KonturError as exc:
        raise _fail(exc, ctx) from exc
    ctx.print(_m(ctx.locale, "changed", user=args.username))
    return 0


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.choices import label
    from cmdb.users import list_users

    ctx.print(_m(ctx.locale, "header"))
    zone = ctx.settings.zone
    for user in list_users(ctx.engine()):
        seen = (
            user.last_login_at.astimezone(zone).strftime("%d.%m.%Y %H:%M")
            if user.last_login_at
            else "—"
        )
        active = ("да" if ctx.locale == "ru" else "yes") if user.is_active else "—"
        role = label(user.role, ctx.locale)
        ctx.print(f"{user.username}|{user.full_name}|{role}|{active}|{seen}")
    return 0


def _token_create(args: argparse.Namespace, ctx: CliContext) -> int:
    import datetime as dt

    from cmdb.errors import KonturError
    from cmdb.types import utcnow
    from cmdb.users import create_api_token

    if args.days is not None and not 1 <= args.days <= 3660:
        raise CommandError("--days: от 1 до 3660", 2)
    expires = utcnow() + dt.timedelta(days=args.days) if args.days else None
    try:
        token = create_api_token(
            ctx.engine(), args.username, args.name, actor=ctx.actor, expires_at=expires
        )
    except KonturError as exc:
        raise _fail(exc, ctx) from exc
    ctx.print(_m(ctx.locale, "token", name=args.name, user=args.username, token=token))
    return 0


def _token_revoke(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.errors import KonturError
    from cmdb.users import revoke_api_token

    try:
        revoke_api_token(ctx.engine(), args.username, args.name, actor=ctx.actor)
    except KonturError as exc:
        raise _fail(exc, ctx) from exc
    ctx.print(_m(ctx.locale, "revoked", name=args.name, user=args.username))
    return 0
