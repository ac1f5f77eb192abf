"""Agent tokens: what a ``kontur-agent`` presents to push heartbeats, and the heartbeats it pushed.

A token is ``secrets.token_urlsafe(32)`` (256 random bits), shown once at creation; the CMDB keeps
only its SHA-256. Each token is bound to one monitored object: a workstation (by hostname) or a
device (by name). Creating and revoking a token are audited (entity ``agent_token``, key = the
token's name); the audit rows never carry the token or its hash. A refused attempt is audited by
the caller that saw it (the HTTP receiver) through :func:`record_denial`.

Errors raised here (from :mod:`cmdb.errors`)::

    KonturError
    ├── NotFound        the workstation/device to bind, or the token to revoke, does not exist
    ├── Conflict        a token with that name already exists
    └── InvalidTokenName   the name is not 1-64 of [A-Za-z0-9._-], starting with a letter/digit
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from cmdb.audit import AuditBatch
from cmdb.choices import AuditAction, ObjectKind
from cmdb.db import session_factory, transaction
from cmdb.errors import Conflict, KonturError, NotFound
from cmdb.models import AgentHeartbeat, AgentToken, Device, Workstation
from cmdb.types import utcnow

logger = logging.getLogger(__name__)

#: The audit journal's entity name for agent tokens.
ENTITY: Final = "agent_token"
#: Who the journal names for refused agent attempts (the remote address goes to ``source``).
DENY_ACTOR: Final = "agent"
#: Key of a refused attempt whose claimed token name is absent or unusable.
UNKNOWN_KEY: Final = "unknown"
#: Token names: what ``kontur agent token create NAME`` accepts, and what a payload may claim.
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Presented tokens longer than this are refused without a database lookup.
MAX_TOKEN_LENGTH: Final = 256

#: Object kinds a token can be bound to, and the model and natural-key column of each.
BINDABLE: Final[dict[ObjectKind, tuple[type[Workstation] | type[Device], str]]] = {
    ObjectKind.WORKSTATION: (Workstation, "hostname"),
    ObjectKind.DEVICE: (Device, "name"),
}

DenyReason = Literal["missing", "malformed", "unknown", "revoked"]


class InvalidTokenName(KonturError):
    """The token name is not acceptable (see :data:`NAME_PATTERN`)."""


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown of a token: everything except the token and its hash."""

    name: str
    object_kind: str
    object_key: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked: bool

    @classmethod
    def of(cls, row: AgentToken) -> TokenInfo:
        return cls(
            name=row.name,
            object_kind=row.object_kind,
            object_key=row.object_key,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked=row.revoked,
        )

    def audit_view(self) -> dict[str, Any]:
        """The snapshot written to the audit journal (never the token or its hash)."""
        return {
            "name": self.name,
            "object_kind": self.object_kind,
            "object_key": self.object_key,
            "revoked": self.revoked,
        }


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a presented token: the row if accepted, else why not."""

    row: AgentToken | None
    reason: DenyReason | None
    #: The name of the matching token, also when it is revoked (a name is not a secret).
    name: str | None = None

    @property
    def ok(self) -> bool:
        return self.row is not None


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def valid_name(name: str) -> bool:
    """Whether ``name`` is an acceptable token name."""
    return NAME_PATTERN.fullmatch(name) is not None


def create_token(
    engine: Engine,
    name: str,
    *,
    object_kind: ObjectKind | str,
    object_key: str,
    actor: str,
    source: str | None = "cli",
) -> tuple[TokenInfo, str]:
    """Create token ``name`` bound to an existing object; returns its info and the plain token.

    The plain token is returned exactly once: only its SHA-256 is stored.
    """
    if not valid_name(name):
        raise InvalidTokenName(name)
    kind = ObjectKind(object_kind)
    if kind not in BINDABLE:
        raise ValueError(f"tokens bind to {', '.join(BINDABLE)}, not {kind}")
    model, key_column = BINDABLE[kind]
    token = secrets.token_urlsafe(32)
    audit = AuditBatch(actor=actor, source=source)
    try:
        with transaction(engine) as session:
            exists = session.scalar(
                select(model.id).where(getattr(model, key_column) == object_key)
            )
            if exists is None:
                raise NotFound(kind.value, object_key)
            if session.scalar(select(AgentToken.id).where(AgentToken.name == name)) is not None:
                raise Conflict(f"agent token {name!r} already exists")
            row = AgentToken(
                name=name,
                object_kind=kind.value,
                object_key=object_key,
                token_sha256=hash_token(token),
                revoked=False,
            )
            session.add(row)
            session.flush()
            info = TokenInfo.of(row)
            audit.add(AuditAction.CREATE, ENTITY, name, None, info.audit_view())
            audit.write(session.connection())
    except IntegrityError as exc:  # a concurrent create of the same name won the race
        raise Conflict(f"agent token {name!r} already exists") from exc
    logger.info("agent token %s created for %s %s", name, kind.value, object_key)
    return info, token


def revoke_token(engine: Engine, name: str, *, actor: str, source: str | None = "cli") -> bool:
    """Revoke token ``name``; False if it was already revoked (nothing changes then)."""
    audit = AuditBatch(actor=actor, source=source)
    with transaction(engine) as session:
        row = session.scalar(select(AgentToken).where(AgentToken.name == name).with_for_update())
        if row is None:
            raise NotFound(ENTITY, name)
        if row.revoked:
            return False
        before = TokenInfo.of(row).audit_view()
        row.revoked = True
        session.flush()
        audit.add(AuditAction.UPDATE, ENTITY, name, before, TokenInfo.of(row).audit_view())
        audit.write(session.connection())
    logger.info("agent token %s revoked", name)
    return True


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token, ordered by name (without the tokens or their hashes)."""
    with session_factory(engine)() as session:
        rows = session.scalars(select(AgentToken).order_by(AgentToken.name))
        return [TokenInfo.of(row) for row in rows]


def check_token(engine: Engine, token: str | None, *, now: dt.datetime | None = None) -> TokenCheck:
    """Check a presented token; an accepted one gets ``last_used_at`` set to ``now``.

    The lookup goes by the SHA-256 of the presented token (a unique index), and the stored hash is
    then compared in constant time, so neither step reveals how much of a guess was right.
    """
    if not token:
        return TokenCheck(None, "missing")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        return TokenCheck(None, "malformed")
    digest = hash_token(token)
    with transaction(engine) as session:
        row = session.scalar(select(AgentToken).where(AgentToken.token_sha256 == digest))
        if row is None or not hmac.compare_digest(row.token_sha256, digest):
            return TokenCheck(None, "unknown")
        if row.revoked:
            return TokenCheck(None, "revoked", row.name)
        row.last_used_at = now or utcnow()
        session.flush()
        return TokenCheck(row, None, row.name)


def verify(
    engine: Engine, token: str | None, *, now: dt.datetime | None = None
) -> AgentToken | None:
    """The token's row if ``token`` is known and not revoked (``last_used_at`` updated), else None.

    A refused token is not recorded here: the caller knows where it came from and records it with
    :func:`record_denial`.
    """
    return check_token(engine, token, now=now).row


def record_denial(
    engine: Engine,
    *,
    claimed_name: str | None,
    remote_addr: str | None,
    reason: DenyReason,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit a refused agent attempt (action ``deny``); the presented token is never stored.

    ``claimed_name`` is used as the key only if it is a valid token name, else ``"unknown"``.
    """
    key = claimed_name if claimed_name and valid_name(claimed_name) else UNKNOWN_KEY
    after: dict[str, Any] = {"reason": reason}
    if detail:
        after.update(detail)
    audit = AuditBatch(actor=DENY_ACTOR, source=remote_addr)
    audit.add(AuditAction.DENY, ENTITY, key, None, after)
    with engine.begin() as conn:
        audit.write(conn)


def record_heartbeat(
    engine: Engine,
    token_name: str,
    *,
    payload: dict[str, Any],
    received_at: dt.datetime,
    remote_addr: str | None,
) -> None:
    """Store the latest heartbeat of token ``token_name`` (one row per token, replaced)."""
    values = {
        "token_name": token_name,
        "received_at": received_at,
        "remote_addr": remote_addr,
        "payload": payload,
    }
    dialect = engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg_stmt = pg_insert(AgentHeartbeat).values(**values)
        stmt: Any = pg_stmt.on_conflict_do_update(
            index_elements=["token_name"],
            set_={k: pg_stmt.excluded[k] for k in ("received_at", "remote_addr", "payload")},
        )
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite_stmt = sqlite_insert(AgentHeartbeat).values(**values)
        stmt = lite_stmt.on_conflict_do_update(
            index_elements=["token_name"],
            set_={k: lite_stmt.excluded[k] for k in ("received_at", "remote_addr", "payload")},
        )
    else:  # pragma: no cover - the settings accept only these two backends
        raise NotImplementedError(dialect)
    with engine.begin() as conn:
        conn.execute(stmt)
