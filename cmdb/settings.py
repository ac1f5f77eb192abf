"""Settings of the CMDB layer, read from ``KONTUR_*`` environment variables (or a ``.env`` file).

Built in ``main()`` and passed down; nothing here runs at import time.
"""

from __future__ import annotations

import json
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cmdb.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///var/kontur.db"
#: A notification claim lives at least this many times the longer delivery timeout.
CLAIM_TIMEOUT_FACTOR = 6


def _split_list(value: Any) -> Any:
    """``a, b`` or a JSON list ``["a", "b"]`` from the environment → a list of strings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class NotifySettings(BaseModel):
    """Notifications (``KONTUR_NOTIFY__*``) and the calendar thresholds they share with the screens.

    E-mail goes out when ``smtp_host`` is set, the webhook when ``webhook_url`` is set. Passwords
    and tokens are :class:`SecretStr`: never printed, logged or written to the database.
    """

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str | None = None
    #: Recipients: ``a@example.org, b@example.org`` (or a JSON list).
    smtp_to: Annotated[list[str], NoDecode] = Field(default_factory=list)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    #: A CA bundle to trust for STARTTLS besides the system's (e.g. the MIAC's own CA).
    smtp_ca_file: Path | None = None
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=300)
    webhook_url: str | None = None
    webhook_token: SecretStr | None = None
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=300)
    #: Days before an expiry that start the «expiring» states, e.g. ``90,30,7``.
    expiry_days: Annotated[tuple[int, ...], NoDecode] = (90, 30, 7)
    #: A control-point occurrence is «due» from this many days before its due date.
    due_soon_days: int = Field(default=7, ge=0, le=366)
    #: An outage (a ``down`` period of an object from one vantage) this long is notified.
    outage_minutes: int = Field(default=30, ge=1, le=525_600)
    #: Overdue control points and outages are looked for this many days back.
    lookback_days: int = Field(default=30, ge=1, le=36_600)
    #: A run claims what it sends; a claim older than this (its run crashed or was killed) is
    #: taken over by the next run. Longer than any delivery may take (see ``_claim_timeout``).
    claim_timeout_s: int = Field(default=900, ge=60, le=7 * 86_400)

    @field_validator("smtp_to", "expiry_days", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("smtp_to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c.isspace() for c in address):
                raise ValueError(f"not an e-mail address: {address!r}")
        return value

    @field_validator("expiry_days")
    @classmethod
    def _thresholds(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("at least one threshold is needed, e.g. 90,30,7")
        if any(days < 1 or days > 3660 for days in value):
            raise ValueError("thresholds are whole days between 1 and 3660")
        if len(set(value)) != len(value):
            raise ValueError("thresholds must differ")
        return tuple(sorted(value, reverse=True))

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("the webhook URL must be http:// or https:// with a host")
        return value

    @model_validator(mode="after")
    def _email_complete(self) -> NotifySettings:
        if self.smtp_host and (not self.smtp_from or not self.smtp_to):
            raise ValueError("e-mail needs KONTUR_NOTIFY__SMTP_FROM and KONTUR_NOTIFY__SMTP_TO")
        if self.smtp_password is not None and not self.smtp_user:
            raise ValueError("KONTUR_NOTIFY__SMTP_PASSWORD is set without KONTUR_NOTIFY__SMTP_USER")
        return self

    @model_validator(mode="after")
    def _claim_timeout(self) -> NotifySettings:
        # A delivery is several network round trips, each bounded by its timeout: a claim must
        # outlive the slowest delivery, or a second run would take it over and send it again.
        slowest = CLAIM_TIMEOUT_FACTOR * max(self.smtp_timeout_s, self.webhook_timeout_s)
        if self.claim_timeout_s < slowest:
            raise ValueError(
                f"KONTUR_NOTIFY__CLAIM_TIMEOUT_S must be at least {CLAIM_TIMEOUT_FACTOR} times "
                f"the longer of KONTUR_NOTIFY__SMTP_TIMEOUT_S and KONTUR_NOTIFY__WEBHOOK_TIMEOUT_S "
                f"(at least {slowest:g} s)"
            )
        return self

    @property
    def email_enabled(self) -> bool:
        """Whether e-mail notifications are configured."""
        return bool(self.smtp_host)

    @property
    def webhook_enabled(self) -> bool:
        """Whether webhook notifications are configured."""
        return bool(self.webhook_url)


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
    notify: NotifySettings = Field(default_factory=NotifySettings)

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
