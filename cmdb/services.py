"""Use cases over the CMDB shared by the CLI and, later, the API: lookups, deletion, summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, Table, delete, func, select
from sqlalchemy.exc import IntegrityError

from cmdb.audit import AuditBatch
from cmdb.choices import AuditAction
from cmdb.errors import Conflict, NotFound
from cmdb.importer import _ReverseRefs, load_by_keys, snapshot
from cmdb.kinds import KINDS, get_kind
from cmdb.models import Attestation, AuditEntry, ControlPoint


def _table(kind: str) -> Table:
    table: Table = get_kind(kind).model.__table__  # type: ignore[assignment]
    return table


def get_record(engine: Engine, kind: str, key: str, zone: dt.tzinfo) -> dict[str, Any]:
    """One row of ``kind`` by natural key, as a snapshot keyed by column names."""
    spec = get_kind(kind)
    with engine.connect() as conn:
        found = load_by_keys(conn, spec, [key])
        if key not in found:
            raise NotFound(kind, key)
        row = found[key]
        refs: dict[str, dict[str, dict[str, Any]]] = {}
        for col in spec.columns:
            if col.ref and row.get(col.target) is not None:
                ref = KINDS[col.ref]
                ref_table: Table = ref.model.__table__  # type: ignore[assignment]
                hit = (
                    conn.execute(select(ref_table).where(ref_table.c.id == row[col.target]))
                    .mappings()
                    .first()
                )
                if hit is not None:
                    refs.setdefault(col.ref, {})[str(hit[ref.key])] = dict(hit)
    return snapshot(spec, row, _ReverseRefs(refs), zone)


def delete_record(
    engine: Engine, kind: str, key: str, *, actor: str, zone: dt.tzinfo, source: str = "cli"
) -> None:
    """Delete one row by natural key with an audit entry; :class:`Conflict` if still referenced.

    ``source`` says where the deletion came from in the journal (``cli``, ``api``, ``web``).
    """
    spec = get_kind(kind)
    before = get_record(engine, kind, key, zone)
    table = _table(kind)
    key_value: Any = int(key) if spec.key_column.kind.value == "int" else key
    audit = AuditBatch(actor=actor, source=source)
    try:
        with engine.begin() as conn:
            conn.execute(delete(table).where(table.c[spec.key] == key_value))
            audit.add(AuditAction.DELETE, spec.entity, key, before, None)
            audit.write(conn)
    except IntegrityError as exc:
        detail = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise Conflict(detail) from exc


def counts(engine: Engine) -> dict[str, int]:
    """Rows per kind."""
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(_table(name))) or 0)
            for name in KINDS
        }


def latest_attestations(engine: Engine) -> list[Attestation]:
    """Attestation records, newest first."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return list(session.scalars(select(Attestation).order_by(Attestation.issued_on.desc())))


def control_points(engine: Engine) -> list[ControlPoint]:
    """All control points ordered by code."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return list(session.scalars(select(ControlPoint).order_by(ControlPoint.code)))


def audit_entries(
    engine: Engine, *, entity: str | None = None, key: str | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Newest audit entries, optionally for one entity kind and key."""
    from sqlalchemy.orm import Session

    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if key:
        query = query.where(AuditEntry.entity_key == key)
    with Session(engine) as session:
        return list(session.scalars(query))
