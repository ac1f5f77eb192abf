"""Domain errors of the CMDB layer.

The tree::

    KonturError
    ├── ConfigError            bad settings (exit code 2)
    ├── DatabaseError
    │   ├── DatabaseUnreachable    cannot connect to KONTUR_DATABASE_URL
    │   └── SchemaNotCurrent       database not migrated to the code's head revision
    ├── NotFound               no object with that natural key
    ├── Conflict               the change would break a constraint (still referenced, duplicate)
    └── ImportFailed           an import file had errors; nothing was written (carries the errors)

Library errors (SQLAlchemy, openpyxl, yaml) are translated into these at the boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmdb.tabular import RowError


class KonturError(Exception):
    """Base of every error the CMDB layer raises on purpose."""


class ConfigError(KonturError):
    """The settings are invalid; the message says which one and why."""


class DatabaseError(KonturError):
    """A problem with the database as a whole."""


class DatabaseUnreachable(DatabaseError):
    """The database URL does not lead to a database we can open."""


class SchemaNotCurrent(DatabaseError):
    """The database schema is not at the revision this code needs."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(f"schema revision {current or 'none'} != {head}")


class NotFound(KonturError):
    """No object of ``kind`` with natural key ``key``."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class Conflict(KonturError):
    """The requested change conflicts with existing data."""


class ImportFailed(KonturError):
    """An import file had errors; nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} error(s)")
