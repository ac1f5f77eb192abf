"""Settings of the collectors layer: ``KONTUR_COLLECTOR__*`` environment variables.

Built in the command's handler and passed down; nothing here runs at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Debounce(BaseModel):
    """How many consecutive failures make ``down`` and successes make ``up`` again."""

    down_after: int = Field(default=3, ge=1, le=100)
    up_after: int = Field(default=2, ge=1, le=100)


class SnmpSettings(BaseModel):
    """SNMP polling limits."""

    #: UDP port of the agents (161; the demo lab uses another when not run as root).
    port: int = Field(default=161, ge=1, le=65535)
    timeout_s: float = Field(default=1.0, gt=0, le=30)
    retries: int = Field(default=1, ge=0, le=5)
    max_in_flight: int = Field(default=256, ge=1, le=10_000)
    max_in_flight_per_target: int = Field(default=2, ge=1, le=16)
    #: YAML file of named credential profiles (communities, v3 users and keys); never logged.
    credentials_file: Path | None = None


class IcmpSettings(BaseModel):
    """ICMP probing: several packets per probe, so loss and RTT are measured, not guessed."""

    #: Off: channels are judged by their interfaces over SNMP only (e.g. no ICMP rights here).
    enabled: bool = True
    packets: int = Field(default=5, ge=2, le=50)
    interval_s: float = Field(default=0.2, gt=0, le=5)
    timeout_s: float = Field(default=1.0, gt=0, le=10)
    degraded_loss_pct: float = Field(default=20.0, ge=0, le=100)
    max_in_flight: int = Field(default=128, ge=1, le=5000)


class CollectorSettings(BaseSettings):
    """Everything ``kontur collect`` needs besides the database (``KONTUR_DATABASE_URL``)."""

    model_config = SettingsConfigDict(
        env_prefix="KONTUR_COLLECTOR__",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    vantage: str = Field(default="dc-primary", pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    interval_s: float = Field(default=60.0, ge=1, le=3600)
    #: A run silent for longer than this many intervals left a gap (recorded as unknown).
    gap_intervals: float = Field(default=2.5, ge=1.5, le=100)
    #: A ViPNet client is offline after this long without a sign of life (the coordinator's rule).
    vipnet_client_offline_s: float = Field(default=360.0, ge=10)
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=9108, ge=0, le=65535)
    debounce_channel: Debounce = Debounce()
    debounce_device: Debounce = Debounce()
    debounce_vipnet_node: Debounce = Debounce(down_after=1, up_after=1)
    debounce_site: Debounce = Debounce(down_after=1, up_after=1)
    snmp: SnmpSettings = SnmpSettings()
    icmp: IcmpSettings = IcmpSettings()
    #: The regional service address (a VIP that moves between the DCs): which DC answers there
    #: is learnt from the sysName of the host answering SNMP at it (a device in the CMDB).
    dc_service_host: str | None = None
    dc_service_credential: str | None = None
