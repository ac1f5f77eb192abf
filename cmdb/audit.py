"""The audit journal: every write to the CMDB records who, when, what, and the row before/after."""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from cmdb.bulk import bulk_insert
from cmdb.choices import AuditAction
from cmdb.models import AuditEntry
from cmdb.types import utcnow


def default_actor(configured: str | None = None) -> str:
    """Who a CLI change is attributed to: ``KONTUR_ACTOR`` or the OS user."""
    if configured:
        return configured
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):
        return "os:unknown"


@dataclass
class AuditBatch:
    """Audit entries collected during one change and written in the same transaction as it."""

    actor: str
    source: str | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    #: One change is one moment: every entry of the batch carries the time the batch began.
    at: dt.datetime = field(default_factory=utcnow)

    def add(
        self,
        action: AuditAction | str,
        entity: str,
        key: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Queue one entry, stamped with the batch's time (UTC, microseconds)."""
        self.entries.append(
            {
                "at": self.at,
                "actor": self.actor,
                "action": str(action),
                "entity": entity,
                "entity_key": key,
                "before": before,
                "after": after,
                "source": self.source,
            }
        )

    def write(self, conn: Connection) -> int:
        """Insert the queued entries with ``conn`` (inside the caller's transaction)."""
        if self.entries:
            bulk_insert(conn, AuditEntry.__table__, self.entries)  # type: ignore[arg-type]
        written = len(self.entries)
        self.entries = []
        return written
