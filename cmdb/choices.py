"""Every enumerated choice of the CMDB, one StrEnum per concept, lowercase values.

The values are what the database stores and what CSV/JSON exports carry; the Russian labels are
what users see and are also accepted on import (a MIAC spreadsheet says «ФАП», not ``fap``).
"""

from __future__ import annotations

from enum import StrEnum


class OrganizationKind(StrEnum):
    """What an organization is to the regional contour."""

    MO = "mo"
    MIAC = "miac"
    PROVIDER = "provider"
    CONTRACTOR = "contractor"
    AUTHORITY = "authority"
    OTHER = "other"


class SiteKind(StrEnum):
    """The kind of a site: data-center sites, MO buildings, rural stations."""

    DC_PRIMARY = "dc_primary"
    DC_RESERVE = "dc_reserve"
    DC_TEST = "dc_test"
    MO_MAIN = "mo_main"
    MO_UNIT = "mo_unit"
    FAP = "fap"
    FP = "fp"
    AMBULANCE = "ambulance"
    OTHER = "other"


class SiteStatus(StrEnum):
    """Life cycle of a site."""

    PLANNED = "planned"
    ACTIVE = "active"
    DECOMMISSIONED = "decommissioned"


class DeviceRole(StrEnum):
    """What a device does."""

    ROUTER = "router"
    SWITCH = "switch"
    SERVER = "server"
    VIPNET_COORDINATOR = "vipnet_coordinator"
    FIREWALL = "firewall"
    UPS = "ups"
    OTHER = "other"


class DeviceStatus(StrEnum):
    """Life cycle of a device; ``maintenance`` suppresses alerts in later layers."""

    PLANNED = "planned"
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    OFFLINE = "offline"
    DECOMMISSIONED = "decommissioned"


class VipnetNodeKind(StrEnum):
    """A ViPNet node is a coordinator (server, category S) or a client (category A)."""

    COORDINATOR = "coordinator"
    CLIENT = "client"


class ChannelMedium(StrEnum):
    """Physical medium of a communication channel."""

    FIBER = "fiber"
    COPPER = "copper"
    LTE = "lte"
    SATELLITE = "satellite"
    RADIO = "radio"


class ChannelRole(StrEnum):
    """Role of a channel inside its redundancy group."""

    PRIMARY = "primary"
    BACKUP = "backup"


class ChannelStatus(StrEnum):
    """Contractual state of a channel."""

    PLANNED = "planned"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DECOMMISSIONED = "decommissioned"


class AttestationScope(StrEnum):
    """What an attestation certificate covers."""

    REGIONAL_SYSTEM = "regional_system"
    DC_SEGMENT = "dc_segment"
    MO_SEGMENT = "mo_segment"


class AttestationKind(StrEnum):
    """Attestation, re-attestation (every 3 years) or periodic control."""

    ATTESTATION = "attestation"
    REATTESTATION = "reattestation"
    PERIODIC_CONTROL = "periodic_control"


class Recurrence(StrEnum):
    """How a control point's due dates are computed."""

    ONCE = "once"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class ObjectKind(StrEnum):
    """Kinds of CMDB objects a maintenance window (and later the status ledger) can refer to."""

    SITE = "site"
    DEVICE = "device"
    CHANNEL = "channel"
    VIPNET_NODE = "vipnet_node"
    WORKSTATION = "workstation"


class State(StrEnum):
    """Observed state of a monitored object from one vantage point."""

    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"
    UNKNOWN = "unknown"


class FailoverKind(StrEnum):
    """What a failover event records."""

    ON_BACKUP = "on_backup"  # the primary channel of a redundancy group is down, a backup carries
    ON_PRIMARY = "on_primary"  # the primary is back
    DC_RESERVE_ACTIVE = "dc_reserve_active"  # the service address answers from the reserve DC
    DC_PRIMARY_ACTIVE = "dc_primary_active"  # ... and from the primary again


class AuditAction(StrEnum):
    """What a change in the audit journal did."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    IMPORT = "import"
    DENY = "deny"  # a refused attempt, e.g. an agent presenting an unknown or revoked token
    LOGIN = "login"  # a user signed in to the web UI
    LOGOUT = "logout"


#: Russian labels users see and may type; keyed by enum value.
class Role(StrEnum):
    """A user's role: what the permission matrix (:mod:`cmdb.permissions`) grants."""

    ADMIN = "admin"
    ENGINEER = "engineer"
    SECURITY_OFFICER = "security_officer"
    HELPDESK = "helpdesk"
    PROJECT_OFFICE = "project_office"
    AGENT = "agent"


LABELS_RU: dict[str, str] = {
    # roles
    "admin": "администратор",
    "engineer": "сетевой инженер",
    "security_officer": "специалист по защите информации",
    "helpdesk": "служба поддержки",
    "project_office": "проектный офис",
    "agent": "агент",
    # organization kinds
    "mo": "МО",
    "miac": "МИАЦ",
    "provider": "оператор связи",
    "contractor": "подрядчик",
    "authority": "орган власти",
    # site kinds
    "dc_primary": "основной ЦОД",
    "dc_reserve": "резервный ЦОД",
    "dc_test": "тестовая площадка",
    "mo_main": "головное здание МО",
    "mo_unit": "ТВСП",
    "fap": "ФАП",
    "fp": "ФП",
    "ambulance": "подстанция СМП",
    "other": "прочее",
    # statuses
    "planned": "планируется",
    "active": "действует",
    "decommissioned": "выведен",
    "maintenance": "обслуживание",
    "offline": "отключен",
    "suspended": "приостановлен",
    # device roles
    "router": "маршрутизатор",
    "switch": "коммутатор",
    "server": "сервер",
    "vipnet_coordinator": "координатор ViPNet",
    "firewall": "межсетевой экран",
    "ups": "ИБП",
    # vipnet
    "coordinator": "координатор",
    "client": "клиент",
    # channels
    "fiber": "оптика",
    "copper": "медь",
    "lte": "LTE",
    "satellite": "спутник",
    "radio": "радио",
    "primary": "основной",
    "backup": "резервный",
    # attestation
    "regional_system": "региональная система",
    "dc_segment": "сегмент ЦОД",
    "mo_segment": "сегмент МО",
    "attestation": "аттестация",
    "reattestation": "переаттестация",
    "periodic_control": "периодический контроль",
    # recurrence
    "once": "однократно",
    "monthly": "ежемесячно",
    "quarterly": "ежеквартально",
    "yearly": "ежегодно",
    # states
    "up": "работает",
    "down": "не работает",
    "degraded": "с ухудшением",
    "unknown": "нет данных",
    "on_backup": "на резерве",
    "on_primary": "на основном",
    "dc_reserve_active": "работает резервный ЦОД",
    "dc_primary_active": "работает основной ЦОД",
    # object kinds
    "site": "площадка",
    "device": "устройство",
    "channel": "канал",
    "vipnet_node": "узел ViPNet",
    "workstation": "АРМ",
}


def label(value: str, locale: str = "ru") -> str:
    """Return the user-facing label of an enum value (the value itself in English)."""
    if locale == "ru":
        return LABELS_RU.get(value, value)
    return value
