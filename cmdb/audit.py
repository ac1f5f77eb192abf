"""The audit journal: every write to the CMDB records who, when, what, and the row before/after."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert

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

    def add(
        self,
        action: AuditAction,
        entity: str,
        key: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Queue one entry; its time is taken now, to the microsecond, in UTC."""
        self.entries.append(
            {
                "at": utcnow(),
                "actor": self.actor,
                "action": action.value,
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
            conn.execute(insert(AuditEntry), self.entries)
        written = len(self.entries)
        self.entries = []
        return written
