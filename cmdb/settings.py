"""Settings of the CMDB layer, read from ``KONTUR_*`` environment variables (or a ``.env`` file).

Built in ``main()`` and passed down; nothing here runs at import time.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cmdb.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///var/kontur.db"


class CmdbSettings(BaseSettings):
    """Database, locale and time zone of the CMDB layer."""

    model_config = SettingsConfigDict(
        env_prefix="KONTUR_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; default a SQLite file under ./var/",
    )
    locale: Literal["ru", "en"] = "ru"
    timezone: str = "Europe/Moscow"
    actor: str | None = Field(
        default=None, description="who the audit journal names for CLI changes (default: OS user)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite and postgresql are supported")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The region's time zone for user-facing times."""
        return zoneinfo.ZoneInfo(self.timezone)

    def sqlite_path(self) -> Path | None:
        """The file of a file-based SQLite URL, else None."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return Path(url.database)


def load_settings() -> CmdbSettings:
    """Read the settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return CmdbSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"KONTUR_{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(problems) from exc
