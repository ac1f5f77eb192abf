"""What every subcommand handler receives: the settings and a lazily opened database."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from cmdb.audit import default_actor
from cmdb.settings import CmdbSettings


class CommandError(Exception):
    """A handled failure: print the message and exit with ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        self.code = code
        super().__init__(message)


class CliContext:
    """Settings, output streams and the engine (opened on first use, disposed at exit)."""

    def __init__(
        self, settings: CmdbSettings, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.settings = settings
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._engine: Engine | None = None

    @property
    def locale(self) -> str:
        return self.settings.locale

    @property
    def actor(self) -> str:
        return default_actor(self.settings.actor)

    def engine(self, *, require_current: bool = True) -> Engine:
        """The database engine; by default refuse an un-migrated database."""
        if self._engine is None:
            from cmdb.db import open_engine

            self._engine = open_engine(self.settings, require_current=require_current)
        return self._engine

    def safe_url(self) -> str:
        """The database URL with any password hidden."""
        return make_url(self.settings.database_url).render_as_string(hide_password=True)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def import_failed(self, source: object, errors: Sequence[object]) -> CommandError:
        """Print every row error (``FILE:ROW: COLUMN: reason``) and the data-error exit."""
        from cmdb.i18n import t

        for error in errors:
            print(error, file=self.err)
        return CommandError(t(self.locale, "cli.import_failed", file=source, count=len(errors)), 1)
