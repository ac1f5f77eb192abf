"""Users, their roles, passwords, API tokens and UI sessions.

Passwords are stored as argon2id hashes (argon2-cffi's defaults). API tokens and session ids are
``secrets.token_urlsafe(32)`` (256 random bits), shown or set once; only their SHA-256 is kept.
Every change (user created, role or password changed, user disabled, token issued or revoked) goes
to the audit journal (entity ``user`` or ``api_token``); no audit row ever carries a password, a
hash or a token. Sign-ins and sign-outs are journaled too (actions ``login``/``logout``), and a
refused sign-in as ``deny``.

Sign-in is rate limited: after :data:`MAX_FAILURES_PER_USER` failures for one username, or
:data:`MAX_FAILURES_PER_ADDRESS` from one address, within :data:`THROTTLE_WINDOW`, further
attempts are refused with :class:`Throttled` until the window has passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from cmdb.audit import AuditBatch
from cmdb.choices import AuditAction, Role
from cmdb.errors import Conflict, KonturError, NotFound
from cmdb.models import ApiToken, LoginAttempt, User, WebSession
from cmdb.types import utcnow

USER_ENTITY: Final = "user"
TOKEN_ENTITY: Final = "api_token"  # noqa: S105 (an entity name)
USERNAME_PATTERN: Final = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
TOKEN_NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 1024
TOKEN_PREFIX: Final = "kt_"  # noqa: S105 (a prefix, not a secret)
MAX_TOKEN_LENGTH: Final = 256
SESSION_LIFETIME: Final = dt.timedelta(hours=8)
TOKEN_USE_RESOLUTION: Final = dt.timedelta(minutes=1)
SESSION_IDLE: Final = dt.timedelta(minutes=60)
THROTTLE_WINDOW: Final = dt.timedelta(minutes=15)
MAX_FAILURES_PER_USER: Final = 5
MAX_FAILURES_PER_ADDRESS: Final = 20

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH: Final = _hasher.hash("kontur-dummy-password-never-used")


class InvalidUsername(KonturError):
    """The username is not 2-64 of ``[a-z0-9._-]`` starting with a letter."""


class WeakPassword(KonturError):
    """The password is shorter than :data:`MIN_PASSWORD_LENGTH` or otherwise unusable."""


class InvalidRole(KonturError):
    """The role is not one of :class:`cmdb.choices.Role`."""


class Throttled(KonturError):
    """Too many failed sign-ins: try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: resolved from a session cookie, an API token or a password."""

    user_id: int
    username: str
    role: Role
    full_name: str
    locale: str
    via: str  # "session", "token" or "password"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _principal(user: User, via: str) -> Principal:
    return Principal(user.id, user.username, Role(user.role), user.full_name, user.locale, via)


def _user_view(user: User) -> dict[str, object]:
    """What the journal records of a user: never the password hash."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "is_active": user.is_active,
        "locale": user.locale,
        "has_password": user.password_hash is not None,
    }


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.match(username):
        raise InvalidUsername(
            f"недопустимое имя пользователя {username!r}: строчная латиница, цифры, «.», «_», «-», "
            "от 2 до 64 символов, первая — буква"
        )
    return username


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidRole(f"неизвестная роль {role!r}; допустимые: {allowed}") from None


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"пароль короче {MIN_PASSWORD_LENGTH} символов")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"пароль длиннее {MAX_PASSWORD_LENGTH} символов")
    if password.strip() != password or not password.strip():
        raise WeakPassword("пароль не должен начинаться или заканчиваться пробелом")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def _get_user(conn: Connection, username: str) -> User:
    with Session(bind=conn) as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            raise NotFound(USER_ENTITY, username)
        session.expunge(user)
        return user


def create_user(
    engine: Engine,
    username: str,
    role: str,
    *,
    password: str | None,
    full_name: str = "",
    locale: str = "ru",
    actor: str,
) -> None:
    """Create a user; a user without a password may use API tokens only."""
    check_username(username)
    role_value = check_role(role)
    if locale not in ("ru", "en"):
        raise KonturError(f"неизвестная локаль {locale!r}; допустимые: ru, en")
    hashed = hash_password(password) if password is not None else None
    with engine.begin() as conn:
        exists = conn.scalar(select(User.id).where(User.username == username))
        if exists is not None:
            raise Conflict(f"пользователь {username!r} уже существует")
        now = utcnow()
        conn.execute(
            insert(User).values(
                username=username,
                role=role_value.value,
                full_name=full_name,
                password_hash=hashed,
                is_active=True,
                locale=locale,
                created_at=now,
                updated_at=now,
            )
        )
        batch = AuditBatch(actor=actor, source="users")
        view = _user_view(_get_user(conn, username))
        batch.add(AuditAction.CREATE, USER_ENTITY, username, None, view)
        batch.write(conn)


def update_user(
    engine: Engine,
    username: str,
    *,
    actor: str,
    password: str | None = None,
    role: str | None = None,
    full_name: str | None = None,
    is_active: bool | None = None,
    locale: str | None = None,
) -> None:
    """Change a user's password, role, name, locale or active flag (audited, hash never shown)."""
    values: dict[str, object] = {}
    if password is not None:
        values["password_hash"] = hash_password(password)
    if role is not None:
        values["role"] = check_role(role).value
    if full_name is not None:
        values["full_name"] = full_name
    if is_active is not None:
        values["is_active"] = is_active
    if locale is not None:
        if locale not in ("ru", "en"):
            raise KonturError(f"неизвестная локаль {locale!r}; допустимые: ru, en")
        values["locale"] = locale
    if not values:
        return
    with engine.begin() as conn:
        user = _get_user(conn, username)
        before = _user_view(user)
        values["updated_at"] = utcnow()
        conn.execute(update(User).where(User.id == user.id).values(**values))
        after = _user_view(_get_user(conn, username))
        if password is not None:
            after["password_changed"] = True
        if is_active is False or password is not None:
            # A disabled user, or a changed password, ends every open session.
            conn.execute(delete(WebSession).where(WebSession.user_id == user.id))
        batch = AuditBatch(actor=actor, source="users")
        batch.add(AuditAction.UPDATE, USER_ENTITY, username, before, after)
        batch.write(conn)


def list_users(engine: Engine) -> list[User]:
    with Session(engine) as session:
        users = list(session.scalars(select(User).order_by(User.username)))
        session.expunge_all()
        return users


# --- API tokens -------------------------------------------------------------------------------


def create_api_token(
    engine: Engine,
    username: str,
    name: str,
    *,
    actor: str,
    expires_at: dt.datetime | None = None,
) -> str:
    """Issue a token for ``username``; returns it (the only time it is ever visible)."""
    if not TOKEN_NAME_PATTERN.match(name):
        raise KonturError(
            f"недопустимое имя токена {name!r}: латиница, цифры, «.», «_», «-», до 64 символов"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        user = _get_user(conn, username)
        clash = conn.scalar(
            select(ApiToken.id).where(
                ApiToken.user_id == user.id, ApiToken.name == name, ApiToken.revoked_at.is_(None)
            )
        )
        if clash is not None:
            raise Conflict(f"у пользователя {username!r} уже есть действующий токен {name!r}")
        now = utcnow()
        conn.execute(
            insert(ApiToken).values(
                name=name,
                user_id=user.id,
                token_sha256=sha256(token),
                expires_at=expires_at,
                created_at=now,
                updated_at=now,
            )
        )
        batch = AuditBatch(actor=actor, source="users")
        after = {"user": username, "name": name, "expires_at": expires_at}
        batch.add(AuditAction.CREATE, TOKEN_ENTITY, f"{username}/{name}", None, after)
        batch.write(conn)
    return token


def revoke_api_token(engine: Engine, username: str, name: str, *, actor: str) -> None:
    with engine.begin() as conn:
        user = _get_user(conn, username)
        row = conn.execute(
            select(ApiToken.id).where(
                ApiToken.user_id == user.id, ApiToken.name == name, ApiToken.revoked_at.is_(None)
            )
        ).first()
        if row is None:
            raise NotFound(TOKEN_ENTITY, f"{username}/{name}")
        now = utcnow()
        conn.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(revoked_at=now, updated_at=now)
        )
        batch = AuditBatch(actor=actor, source="users")
        batch.add(
            AuditAction.UPDATE,
            TOKEN_ENTITY,
            f"{username}/{name}",
            {"revoked": False},
            {"revoked": True},
        )
        batch.write(conn)


def principal_for_token(engine: Engine, token: str) -> Principal | None:
    """The active user a presented API token belongs to, or None (unknown, revoked, expired)."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        return None
    digest = sha256(token)
    now = utcnow()
    # Every API request comes through here: one statement built once, read without a
    # transaction; a write only when the last use is due to be recorded.
    with engine.connect() as conn:
        row = conn.execute(_TOKEN_LOOKUP, {"digest": digest}).first()
        if row is None or not hmac.compare_digest(row.token_sha256, digest):
            return None
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        if not row.is_active:
            return None
        # Recorded at most once a minute: a busy script must not turn every read into a write.
        if row.last_used_at is None or now - row.last_used_at > TOKEN_USE_RESOLUTION:
            conn.execute(
                update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_at=now)
            )
            conn.commit()
    return Principal(row.user_id, row.username, Role(row.role), row.full_name, row.locale, "token")


_TOKEN_LOOKUP = (
    select(
        ApiToken.id.label("token_id"),
        ApiToken.token_sha256,
        ApiToken.revoked_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        User.id.label("user_id"),
        User.username,
        User.role,
        User.full_name,
        User.locale,
        User.is_active,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_sha256 == bindparam("digest"))
)


# --- passwords and sessions -------------------------------------------------------------------


def _throttle(conn: Connection, username: str, remote_addr: str | None, now: dt.datetime) -> None:
    since = now - THROTTLE_WINDOW
    failed = LoginAttempt.success.is_(False)
    by_user: Any = conn.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.at > since, failed
        )
    ).one()
    by_addr: Any = (0, None)
    if remote_addr:
        by_addr = conn.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                LoginAttempt.remote_addr == remote_addr, LoginAttempt.at > since, failed
            )
        ).one()
    checks = ((tuple(by_user), MAX_FAILURES_PER_USER), (tuple(by_addr), MAX_FAILURES_PER_ADDRESS))
    for (count, oldest), limit in checks:
        if count >= limit and oldest is not None:
            retry = max(1, int((oldest + THROTTLE_WINDOW - now).total_seconds()) + 1)
            raise Throttled(
                f"слишком много неудачных попыток входа; повторите через {retry} с", retry
            )


def authenticate(
    engine: Engine, username: str, password: str, *, remote_addr: str | None = None
) -> Principal | None:
    """Check a username and password; records the attempt; raises :class:`Throttled`."""
    now = utcnow()
    username = username.strip().lower()[:64]
    with engine.begin() as conn:
        _throttle(conn, username, remote_addr, now)
    with Session(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is not None:
            session.expunge(user)
    ok = False
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password[:MAX_PASSWORD_LENGTH])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.is_active and user.password_hash is not None
    with engine.begin() as conn:
        conn.execute(
            insert(LoginAttempt).values(
                username=username, remote_addr=remote_addr, at=now, success=ok
            )
        )
        batch = AuditBatch(actor=username if ok else "anonymous", source=remote_addr or "")
        if ok:
            assert user is not None
            conn.execute(update(User).where(User.id == user.id).values(last_login_at=now))
            if _hasher.check_needs_rehash(stored):
                conn.execute(
                    update(User)
                    .where(User.id == user.id)
                    .values(password_hash=_hasher.hash(password))
                )
            batch.add(AuditAction.LOGIN, USER_ENTITY, username, None, None)
        else:
            batch.add(AuditAction.DENY, USER_ENTITY, username, None, {"reason": "bad_credentials"})
        batch.write(conn)
    if not ok or user is None:
        return None
    return _principal(user, "password")


def create_session(
    engine: Engine, principal: Principal, *, remote_addr: str | None = None
) -> tuple[str, str]:
    """Open a UI session; returns (session id for the cookie, CSRF token for forms)."""
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(WebSession).values(
                session_sha256=sha256(raw),
                user_id=principal.user_id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
                last_seen_at=now,
                remote_addr=remote_addr,
            )
        )
        # Expired sessions of anyone are swept on sign-in.
        conn.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return raw, csrf


def session_principal(engine: Engine, raw: str) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session, or None (unknown, expired, idle)."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    now = utcnow()
    with Session(engine) as session, session.begin():
        web = session.scalars(
            select(WebSession).where(WebSession.session_sha256 == sha256(raw))
        ).one_or_none()
        if web is None:
            return None
        if web.expires_at <= now or web.last_seen_at + SESSION_IDLE <= now:
            session.delete(web)
            return None
        user = web.user
        if not user.is_active:
            return None
        if now - web.last_seen_at > dt.timedelta(seconds=30):
            web.last_seen_at = now
        return _principal(user, "session"), web.csrf_token


def end_session(engine: Engine, raw: str) -> str | None:
    """Close a session (sign-out); returns the username it belonged to, if any."""
    with engine.begin() as conn:
        row = conn.execute(
            select(User.username)
            .join(WebSession, WebSession.user_id == User.id)
            .where(WebSession.session_sha256 == sha256(raw))
        ).first()
        if row is None:
            return None
        conn.execute(delete(WebSession).where(WebSession.session_sha256 == sha256(raw)))
        batch = AuditBatch(actor=row.username, source="web")
        batch.add(AuditAction.LOGOUT, USER_ENTITY, row.username, None, None)
        batch.write(conn)
        return str(row.username)


def role_of(conn: Connection, username: str) -> Role | None:
    """The role of an active user, or None when there is no such active user."""
    value = conn.scalar(
        select(User.role).where(User.username == username, User.is_active.is_(True))
    )
    return Role(value) if value is not None else None
