"""The CMDB schema: typed SQLAlchemy 2 models of the regional healthcare contour.

Every table has a surrogate ``id``, a unique natural key (the column imports and exports match on),
and ``created_at``/``updated_at`` in UTC. Enum columns store the lowercase values of
:mod:`cmdb.choices` as plain strings guarded by CHECK constraints, so migrations stay portable
between SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cmdb import choices
from cmdb.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
code_str = Annotated[str, mapped_column(String(64))]
name_str = Annotated[str, mapped_column(String(255))]
created_ts = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]
updated_ts = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)]


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names are stable in migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # SQLAlchemy reads this class attribute; it is never mutated.
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class Timestamped:
    """Mixin adding the surrogate key and the created/updated times every row carries."""

    id: Mapped[intpk]
    created_at: Mapped[created_ts]
    updated_at: Mapped[updated_ts]


def enum_check(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """A CHECK constraint that keeps ``column`` inside the values of ``enum``."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


def enum_col(enum: type[StrEnum], *, default: StrEnum | None = None) -> Any:
    """An enum column stored as its string value."""
    length = max(len(m.value) for m in enum)
    return mapped_column(String(length), default=default.value if default else None)


# --- geography and organizations -----------------------------------------------------------


class Region(Timestamped, Base):
    """A subject of the Russian Federation (e.g. Krasnodar Krai, OKATO-like code ``23``)."""

    __tablename__ = "region"

    code: Mapped[code_str] = mapped_column(unique=True)
    name: Mapped[name_str]
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    districts: Mapped[list[District]] = relationship(back_populates="region")


class District(Timestamped, Base):
    """A municipal district or city district (муниципальный район / городской округ)."""

    __tablename__ = "district"

    code: Mapped[code_str] = mapped_column(unique=True)
    name: Mapped[name_str]
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    region: Mapped[Region] = relationship(back_populates="districts")


class Organization(Timestamped, Base):
    """A legal entity: medical organization (МО), the MIAC, a telecom provider, a contractor."""

    __tablename__ = "organization"
    __table_args__ = (
        enum_check("kind", choices.OrganizationKind),
        Index("uq_organization_frmo_oid", "frmo_oid", unique=True),
    )

    code: Mapped[code_str] = mapped_column(unique=True)
    kind: Mapped[str] = enum_col(choices.OrganizationKind)
    short_name: Mapped[name_str]
    full_name: Mapped[str] = mapped_column(String(1000))
    frmo_oid: Mapped[str | None] = mapped_column(String(128))
    inn: Mapped[str | None] = mapped_column(String(12))
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("district.id", ondelete="RESTRICT"), index=True
    )
    contact: Mapped[str | None] = mapped_column(String(500))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


# --- sites, devices, workstations -----------------------------------------------------------


class Site(Timestamped, Base):
    """A place with equipment: a data-center site, an MO building or unit (ТВСП), a FAP/FP."""

    __tablename__ = "site"
    __table_args__ = (
        enum_check("kind", choices.SiteKind),
        enum_check("status", choices.SiteStatus),
        CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude_range"
        ),
    )

    code: Mapped[code_str] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = enum_col(choices.SiteKind)
    status: Mapped[str] = enum_col(choices.SiteStatus, default=choices.SiteStatus.ACTIVE)
    address: Mapped[str | None] = mapped_column(String(1000))
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("district.id", ondelete="RESTRICT"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class Device(Timestamped, Base):
    """A managed network device or server.

    SNMP secrets live outside the CMDB: a device names its credential profile only.
    """

    __tablename__ = "device"
    __table_args__ = (
        enum_check("role", choices.DeviceRole),
        enum_check("status", choices.DeviceStatus),
    )

    name: Mapped[code_str] = mapped_column(unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = enum_col(choices.DeviceRole)
    vendor: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(64))
    mgmt_address: Mapped[str | None] = mapped_column(String(64))
    snmp_profile: Mapped[str | None] = mapped_column(String(64))
    serial: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = enum_col(choices.DeviceStatus, default=choices.DeviceStatus.ACTIVE)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class VipnetNetwork(Timestamped, Base):
    """A ViPNet network, e.g. No. 1988 (0x07C4), the region's protected network (ЗСПД)."""

    __tablename__ = "vipnet_network"
    __table_args__ = (CheckConstraint("number BETWEEN 1 AND 65535", name="number_range"),)

    number: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[name_str]
    admin_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )


class VipnetNode(Timestamped, Base):
    """A ViPNet node: its 8-hex-digit ID starts with the network number (0x07c4.... in 1988)."""

    __tablename__ = "vipnet_node"
    __table_args__ = (enum_check("kind", choices.VipnetNodeKind),)

    vipnet_id: Mapped[str] = mapped_column(String(10), unique=True)
    network_id: Mapped[int] = mapped_column(
        ForeignKey("vipnet_network.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[name_str]
    kind: Mapped[str] = enum_col(choices.VipnetNodeKind)
    software_version: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="RESTRICT"), unique=True
    )
    keys_issued_on: Mapped[dt.date | None] = mapped_column(Date)
    keys_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    certificate_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Workstation(Timestamped, Base):
    """An automated workplace (АРМ) of a medical worker."""

    __tablename__ = "workstation"
    __table_args__ = (Index("uq_workstation_inventory_number", "inventory_number", unique=True),)

    hostname: Mapped[code_str] = mapped_column(unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    inventory_number: Mapped[str | None] = mapped_column(String(64))
    os: Mapped[str | None] = mapped_column(String(100))
    protected_network: Mapped[bool] = mapped_column(Boolean, default=False)
    vipnet_node_id: Mapped[int | None] = mapped_column(
        ForeignKey("vipnet_node.id", ondelete="RESTRICT"), unique=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


# --- channels ----------------------------------------------------------------------------------


class Channel(Timestamped, Base):
    """A communication channel (канал связи) under a provider's contract, between two sites."""

    __tablename__ = "channel"
    __table_args__ = (
        enum_check("medium", choices.ChannelMedium),
        enum_check("role", choices.ChannelRole),
        enum_check("status", choices.ChannelStatus),
        CheckConstraint(
            "sla_target_pct IS NULL OR (sla_target_pct > 0 AND sla_target_pct <= 100)",
            name="sla_range",
        ),
        CheckConstraint("bandwidth_mbps IS NULL OR bandwidth_mbps > 0", name="bandwidth_positive"),
    )

    key: Mapped[code_str] = mapped_column(unique=True)
    name: Mapped[str | None] = mapped_column(String(500))
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    contract_number: Mapped[str | None] = mapped_column(String(100))
    contract_date: Mapped[dt.date | None] = mapped_column(Date)
    bandwidth_mbps: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    medium: Mapped[str] = enum_col(choices.ChannelMedium)
    a_site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    a_device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="RESTRICT"), index=True
    )
    a_interface: Mapped[str | None] = mapped_column(String(64))
    a_address: Mapped[str | None] = mapped_column(String(64))
    z_site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    z_device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="RESTRICT"), index=True
    )
    z_interface: Mapped[str | None] = mapped_column(String(64))
    z_address: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = enum_col(choices.ChannelRole, default=choices.ChannelRole.PRIMARY)
    redundancy_group: Mapped[str | None] = mapped_column(String(64), index=True)
    sla_target_pct: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    status: Mapped[str] = enum_col(choices.ChannelStatus, default=choices.ChannelStatus.ACTIVE)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


# --- compliance and planning -------------------------------------------------------------------


class Attestation(Timestamped, Base):
    """A certificate of conformity (аттестат соответствия) of the system or of a segment."""

    __tablename__ = "attestation"
    __table_args__ = (
        enum_check("scope", choices.AttestationScope),
        enum_check("kind", choices.AttestationKind),
        CheckConstraint("valid_until > issued_on", name="validity_order"),
    )

    number: Mapped[code_str] = mapped_column(unique=True)
    scope: Mapped[str] = enum_col(choices.AttestationScope)
    object_name: Mapped[str] = mapped_column(String(500))
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("site.id", ondelete="RESTRICT"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = enum_col(choices.AttestationKind)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    issuer: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)


class ControlPoint(Timestamped, Base):
    """A control point of the regional project; its due dates are computed from the recurrence."""

    __tablename__ = "control_point"
    __table_args__ = (
        enum_check("recurrence", choices.Recurrence),
        CheckConstraint("due_day IS NULL OR (due_day BETWEEN 1 AND 31)", name="due_day_range"),
        CheckConstraint(
            "(recurrence = 'once' AND due_date IS NOT NULL) OR "
            "(recurrence IN ('monthly', 'quarterly') AND due_day IS NOT NULL "
            " AND valid_from IS NOT NULL AND valid_until IS NOT NULL) OR "
            "(recurrence = 'yearly' AND due_day IS NOT NULL AND due_month IS NOT NULL "
            " AND valid_from IS NOT NULL AND valid_until IS NOT NULL)",
            name="schedule_complete",
        ),
    )

    code: Mapped[code_str] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(500))
    evidence: Mapped[str | None] = mapped_column(String(500))
    control_level: Mapped[str | None] = mapped_column(String(16))
    recurrence: Mapped[str] = enum_col(choices.Recurrence)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    due_day: Mapped[int | None] = mapped_column(Integer)
    due_month: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class Indicator(Timestamped, Base):
    """A project indicator (показатель) with yearly plan values and a named fact query."""

    __tablename__ = "indicator"

    code: Mapped[code_str] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(64))
    base_value: Mapped[Decimal | None] = mapped_column(Numeric(16, 4))
    base_date: Mapped[dt.date | None] = mapped_column(Date)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fact_query: Mapped[str | None] = mapped_column(String(64))


class MaintenanceWindow(Timestamped, Base):
    """Planned works on some CMDB objects; later layers exclude them from SLA and alerts."""

    __tablename__ = "maintenance_window"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="window_order"),)

    key: Mapped[code_str] = mapped_column(unique=True)
    objects: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)


# --- the status ledger ----------------------------------------------------------------------------


class StatusTransition(Base):
    """One state change of a monitored object seen from one vantage point (the status ledger).

    Objects are named by kind and natural key, not by row id: the history outlives renames and
    deletions in the CMDB. Append-only; uptime is computed from these rows exactly.
    """

    __tablename__ = "status_transition"
    __table_args__ = (
        enum_check("object_kind", choices.ObjectKind),
        enum_check("state", choices.State),
        Index(
            "uq_status_transition_object_at",
            "object_kind",
            "object_key",
            "vantage",
            "at",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    object_kind: Mapped[str] = enum_col(choices.ObjectKind)
    object_key: Mapped[str] = mapped_column(String(255))
    vantage: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    state: Mapped[str] = enum_col(choices.State)
    previous: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(1000))


class ObjectState(Base):
    """The current state of an object per vantage, with the debounce counters behind it."""

    __tablename__ = "object_state"
    __table_args__ = (
        enum_check("object_kind", choices.ObjectKind),
        enum_check("state", choices.State),
        Index("uq_object_state_object", "object_kind", "object_key", "vantage", unique=True),
    )

    id: Mapped[intpk]
    object_kind: Mapped[str] = enum_col(choices.ObjectKind)
    object_key: Mapped[str] = mapped_column(String(255))
    vantage: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = enum_col(choices.State)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    #: The raw result of the latest observations and how many in a row gave it, from when.
    candidate: Mapped[str | None] = mapped_column(String(16))
    streak: Mapped[int] = mapped_column(Integer, default=0)
    streak_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class FailoverEvent(Base):
    """A switch to a backup channel (or back), or between the primary and reserve DC."""

    __tablename__ = "failover_event"
    __table_args__ = (
        enum_check("kind", choices.FailoverKind),
        Index("ix_failover_event_site_at", "site_key", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_key: Mapped[str] = mapped_column(String(64))
    redundancy_group: Mapped[str | None] = mapped_column(String(64))
    vantage: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = enum_col(choices.FailoverKind)
    active_channel: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500))


class CollectorRun(Base):
    """A collector's life per vantage: when it started and when it last finished a cycle.

    On start, a collector whose previous run of the same vantage went silent records the gap
    as ``unknown`` for every object it was watching: a gap is never counted as up.
    """

    __tablename__ = "collector_run"

    id: Mapped[intpk]
    vantage: Mapped[str] = mapped_column(String(64), index=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_cycle_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AgentToken(Timestamped, Base):
    """A per-node token a ``kontur-agent`` presents; only its SHA-256 is stored."""

    __tablename__ = "agent_token"
    __table_args__ = (enum_check("object_kind", choices.ObjectKind),)

    name: Mapped[code_str] = mapped_column(unique=True)
    object_kind: Mapped[str] = enum_col(choices.ObjectKind)
    object_key: Mapped[str] = mapped_column(String(255))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AgentHeartbeat(Base):
    """The latest heartbeat of each agent (what it reported, when it was received)."""

    __tablename__ = "agent_heartbeat"

    id: Mapped[intpk]
    token_name: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- calendars and notifications --------------------------------------------------------------


class EvidenceSource(StrEnum):
    """Who attached the evidence of a control-point occurrence (move to :mod:`cmdb.choices`)."""

    USER = "user"
    GENERATED = "generated"


class NotifyChannel(StrEnum):
    """Where a notification goes (move to :mod:`cmdb.choices`)."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class ControlPointEvidence(Timestamped, Base):
    """The evidence (an act, a report) that one occurrence of a control point is done.

    An occurrence is named by its reporting period's first day; a one-off point, which has no
    period, by its due date (both stored in ``period_start``). ``due_date`` keeps the due date the
    occurrence had when the evidence was attached.
    """

    __tablename__ = "control_point_evidence"
    __table_args__ = (
        enum_check("source", EvidenceSource),
        Index(
            "uq_control_point_evidence_occurrence", "control_point_id", "period_start", unique=True
        ),
    )

    control_point_id: Mapped[int] = mapped_column(
        ForeignKey("control_point.id", ondelete="RESTRICT")
    )
    period_start: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    attached_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attached_by: Mapped[str] = mapped_column(String(128))
    document: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = enum_col(EvidenceSource, default=EvidenceSource.USER)


class NotifyState(StrEnum):
    """Where a (key, channel) row of ``notification_sent`` is (move to :mod:`cmdb.choices`)."""

    #: claimed by a run that is delivering it now (or crashed while doing so)
    SENDING = "sending"
    #: delivered
    SENT = "sent"


class NotificationSent(Base):
    """A notification claimed for delivery over one channel, then delivered.

    The unique (key, channel) index makes the claim: of two runs inserting the same row, one
    wins. A ``sending`` row is its run's claim (deleted if delivery fails, taken over by a later
    run once older than ``KONTUR_NOTIFY__CLAIM_TIMEOUT_S``); a ``sent`` row is never sent there
    again.
    """

    __tablename__ = "notification_sent"
    __table_args__ = (
        enum_check("channel", NotifyChannel),
        enum_check("state", NotifyState),
        CheckConstraint("state = 'sending' OR sent_at IS NOT NULL", name="sent_at_when_sent"),
        Index("uq_notification_sent_key_channel", "key", "channel", unique=True),
    )

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(512))
    channel: Mapped[str] = enum_col(NotifyChannel)
    state: Mapped[str] = enum_col(NotifyState)
    #: when the run claimed it (rows delivered before claims existed: their ``sent_at``)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the claiming run, ``host:pid:random``; NULL for rows delivered before claims existed
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    #: when delivery succeeded; NULL while ``sending``
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    detail: Mapped[str | None] = mapped_column(Text)


# --- users and access (web UI and API) ------------------------------------------------------


class User(Timestamped, Base):
    """A person (or a script's service account) who signs in to the UI or calls the API.

    The password is stored only as an argon2id hash; ``password_hash`` is NULL for accounts that
    may only use API tokens (e.g. the ``agent`` role).
    """

    __tablename__ = "app_user"
    __table_args__ = (enum_check("role", choices.Role),)

    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = enum_col(choices.Role)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(8), default="ru")
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Timestamped, Base):
    """A bearer token for scripts and agents; shown once, only its SHA-256 is kept."""

    __tablename__ = "api_token"

    name: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A signed-in UI session: the cookie carries a random id, only its SHA-256 is stored."""

    __tablename__ = "web_session"

    id: Mapped[intpk]
    session_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """A sign-in attempt, kept for rate limiting (failures per username and per address)."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean)


# --- audit --------------------------------------------------------------------------------------


class AuditEntry(Base):
    """One change to the CMDB: who, when (UTC, microseconds), what, and the row before and after."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        enum_check("action", choices.AuditAction),
        Index("ix_audit_entry_entity_key", "entity", "entity_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = enum_col(choices.AuditAction)
    entity: Mapped[str] = mapped_column(String(64))
    entity_key: Mapped[str] = mapped_column(String(255))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    source: Mapped[str | None] = mapped_column(String(1000))


# --- provisioning -------------------------------------------------------------------------------


class RunStatus(StrEnum):
    """The outcome of a provisioning run (move to :mod:`cmdb.choices`)."""

    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"  # some host failed or was unreachable
    REFUSED = "refused"  # the gate refused every target: nothing ran
    ERROR = "error"  # Ansible could not run the playbook (syntax, missing file, canceled)


class EventStatus(StrEnum):
    """The result of one task on one host (move to :mod:`cmdb.choices`)."""

    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"


class OverrideTarget(StrEnum):
    """What a gate override covers: a host, a whole site, or one cause of refusal."""

    SITE = "site"
    DEVICE = "device"
    WORKSTATION = "workstation"
    VIPNET_NODE = "vipnet_node"
    ATTESTATION = "attestation"


class ProvisionRun(Base):
    """One ``kontur provision`` run of a playbook: what, by whom, the gate's refusals, the outcome.

    ``refused``: ``[{"host", "object_kind", "object_key", "reasons": [...]}]`` (reasons in
    Russian); ``overridden``: the same plus ``override_id`` for hosts let through by an override;
    ``recap``: Ansible's per-host stats (``ok``, ``changed``, ``failures``, ``dark`` ...).
    """

    __tablename__ = "provision_run"
    __table_args__ = (enum_check("status", RunStatus),)

    id: Mapped[intpk]
    playbook: Mapped[str] = mapped_column(String(1000))
    limit_pattern: Mapped[str | None] = mapped_column(String(4000))
    tags: Mapped[str | None] = mapped_column(String(1000))
    check_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = enum_col(RunStatus, default=RunStatus.RUNNING)
    rc: Mapped[int | None] = mapped_column(Integer)
    hosts: Mapped[int] = mapped_column(Integer, default=0)
    ok_count: Mapped[int] = mapped_column(Integer, default=0)
    changed_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    unreachable_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    overridden: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recap: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)


class ProvisionEvent(Base):
    """The result of one task on one host in a run, linked to its CMDB object by kind and key."""

    __tablename__ = "provision_event"
    __table_args__ = (
        enum_check("status", EventStatus),
        Index("ix_provision_event_object", "object_kind", "object_key"),
        Index("ix_provision_event_run_seq", "run_id", "seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("provision_run.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    object_kind: Mapped[str | None] = mapped_column(String(32))
    object_key: Mapped[str | None] = mapped_column(String(255))
    play: Mapped[str | None] = mapped_column(String(500))
    task: Mapped[str | None] = mapped_column(String(500))
    action: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = enum_col(EventStatus)
    diff: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class GateOverride(Timestamped, Base):
    """A security officer's permission to provision despite an expired attestation or keys.

    Live while not revoked and ``valid_until`` is ahead. ``approved_by`` is the username of a
    user whose role is ``security_officer``; every use by a run is journaled.
    """

    __tablename__ = "gate_override"
    __table_args__ = (
        enum_check("target_kind", OverrideTarget),
        Index("ix_gate_override_target", "target_kind", "target_key"),
    )

    target_kind: Mapped[str] = enum_col(OverrideTarget)
    target_key: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(64))
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(128))


# --- ledger month-boundary state (SLA) ---


class LedgerLastState(Base):
    """The latest transition of an object per vantage: derived from ``status_transition``.

    Kept by the database (PostgreSQL triggers of migration 0006, for every writer); with
    :class:`LedgerMonthState` it gives the state at a month boundary without reading the history
    before it (docs/sla.md §11). Keyed by what it describes, no surrogate id; values copied from
    the ledger, which checks them. Empty on SQLite, where reports read the ledger itself.
    """

    __tablename__ = "ledger_last_state"

    object_kind: Mapped[str] = mapped_column(String(11), primary_key=True)
    object_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    vantage: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(8))


class LedgerMonthState(Base):
    """An object's state per vantage at a ledger boundary: derived from ``status_transition``.

    Boundaries are 10:00 UTC on the last day of every month (before midnight of the 1st in every
    time zone). A row holds the state of the object's last transition before ``boundary``, for
    objects with transitions before and after it; see :class:`LedgerLastState`.
    """

    __tablename__ = "ledger_month_state"

    object_kind: Mapped[str] = mapped_column(String(11), primary_key=True)
    boundary: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    object_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    vantage: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))


#: The ledger's rows in object order with their state: the uptime maths reads a month of them
#: from this index alone, without the table's pages (docs/sla.md §11).
Index(
    "ix_status_transition_object_at_state",
    StatusTransition.object_kind,
    StatusTransition.object_key,
    StatusTransition.vantage,
    StatusTransition.at,
    StatusTransition.state,
)
