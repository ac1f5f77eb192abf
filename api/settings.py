"""Settings of the API and web UI server (``KONTUR_API__*``), besides the CMDB's ``KONTUR_*``."""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cmdb.errors import ConfigError


class ApiSettings(BaseSettings):
    """Where ``kontur serve`` listens and how it guards sessions and ``/metrics``."""

    model_config = SettingsConfigDict(env_prefix="KONTUR_API__", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    #: Mark the session cookie ``Secure`` (browsers still send it to http://localhost).
    cookie_secure: bool = True
    #: Addresses that may read ``/metrics`` without a token (a token with the right always may).
    metrics_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"]
    )
    #: Page size limits of list endpoints.
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_page_size: int = Field(default=500, ge=1, le=10000)

    @field_validator("metrics_allow", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [p.strip() for p in text.split(",") if p.strip()]
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value

    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(item, strict=False) for item in self.metrics_allow]


def load_api_settings() -> ApiSettings:
    """Read the settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return ApiSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"KONTUR_API__{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(problems) from exc
