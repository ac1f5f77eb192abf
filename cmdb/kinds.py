"""The entity kinds of import and export: their columns, natural keys and cross-field rules.

``KINDS`` is the registry (ordered so that a kind only refers to kinds before it); an unknown
kind is an error listing the valid ones.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cmdb import choices
from cmdb.facts import FACT_QUERIES, valid_fact_queries
from cmdb.fields import Column, FieldError, Kind, normalize_header, vipnet_network_number
from cmdb.models import (
    Attestation,
    Base,
    Channel,
    ControlPoint,
    Device,
    District,
    Indicator,
    MaintenanceWindow,
    Organization,
    Region,
    Site,
    VipnetNetwork,
    VipnetNode,
    Workstation,
)
from cmdb.platforms import PLATFORMS, valid_platforms

#: What a rule sees of referenced rows: ref kind → natural key → that row's columns.
RefRows = Mapping[str, Mapping[str, Mapping[str, Any]]]
Problems = list[tuple[str, FieldError]]


@dataclass(frozen=True)
class KindSpec:
    """One importable/exportable entity kind."""

    name: str
    title_ru: str
    model: type[Base]
    key: str
    columns: tuple[Column, ...]
    check: Callable[[dict[str, Any], RefRows], Problems] | None = None
    #: columns of the form PREFIX_YYYY (yearly plan values) stored in one JSON attribute
    yearly_attr: str | None = None
    yearly_prefixes: tuple[str, ...] = ()
    ref_kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: fills derived values right after parsing (before references are resolved)
    prepare: Callable[[dict[str, Any]], None] | None = None
    #: columns ``prepare`` may fill although the file lacks them: they are written too
    derived: tuple[str, ...] = ()
    #: references held in non-reference columns: (column, referenced kind, natural key)
    object_refs: Callable[[dict[str, Any]], Iterable[tuple[str, str, str]]] | None = None

    @property
    def key_column(self) -> Column:
        """The natural-key column."""
        return self.column(self.key)

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def entity(self) -> str:
        """The table name, used as the entity in the audit journal."""
        return str(self.model.__tablename__)

    def yearly_column_year(self, header: str) -> int | None:
        """The year of a yearly plan column (``plan_2022``, ``план_2022``), else None."""
        if not self.yearly_attr:
            return None
        norm = normalize_header(header)
        for prefix in self.yearly_prefixes:
            match = re.fullmatch(rf"{prefix}_?(\d{{4}})", norm)
            if match:
                return int(match.group(1))
        return None


def _bool(name: str, ru: str, **kw: Any) -> Column:
    return Column(name, ru, Kind.BOOL, **kw)


SYNTHETIC = _bool("synthetic", "синтетические данные", aliases=("синтетика",), default=False)


# --- cross-field rules -------------------------------------------------------------------------


def _check_organization(values: dict[str, Any], refs: RefRows) -> Problems:
    problems: Problems = []
    oid = values.get("frmo_oid")
    if oid and not re.fullmatch(r"[0-2](\.(0|[1-9]\d*))+", oid):
        problems.append(("frmo_oid", FieldError("val.oid", value=oid)))
    inn = values.get("inn")
    if inn and not re.fullmatch(r"\d{10}|\d{12}", inn):
        problems.append(("inn", FieldError("val.inn", value=inn)))
    return problems


def _check_device(values: dict[str, Any], refs: RefRows) -> Problems:
    problems: Problems = []
    platform = values.get("platform")
    if platform is not None and platform not in PLATFORMS:
        problems.append(
            ("platform", FieldError("val.platform", value=platform, valid=valid_platforms()))
        )
    profile = values.get("snmp_profile")
    if profile and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", profile):
        problems.append(("snmp_profile", FieldError("val.secret_like")))
    return problems


def _check_node(values: dict[str, Any], refs: RefRows) -> Problems:
    problems: Problems = []
    vipnet_id = values.get("vipnet_id")
    if vipnet_id is None:
        return problems
    actual = vipnet_network_number(vipnet_id)
    network = values.get("network")
    if network is not None and str(network) != str(actual):
        problems.append(
            (
                "network",
                FieldError(
                    "val.vipnet_network_mismatch", value=vipnet_id, actual=actual, expected=network
                ),
            )
        )
    issued, until = values.get("keys_issued_on"), values.get("keys_valid_until")
    if issued and until and until <= issued:
        problems.append(
            (
                "keys_valid_until",
                FieldError("val.order", later="keys_valid_until", earlier="keys_issued_on"),
            )
        )
    return problems


def _prepare_node(values: dict[str, Any]) -> None:
    """A node's network is the first four hex digits of its ID unless the file names one."""
    vipnet_id = values.get("vipnet_id")
    if vipnet_id is not None and values.get("network") is None:
        values["network"] = str(vipnet_network_number(vipnet_id))


def _check_channel(values: dict[str, Any], refs: RefRows) -> Problems:
    problems: Problems = []
    devices = refs.get("devices", {})
    sites = refs.get("sites", {})
    for end in ("a", "z"):
        device_key, site_key = values.get(f"{end}_device"), values.get(f"{end}_site")
        if not device_key or not site_key or device_key not in devices or site_key not in sites:
            continue
        device_site_id = devices[device_key]["site_id"]
        if device_site_id != sites[site_key]["id"]:
            actual = next(
                (k for k, row in sites.items() if row["id"] == device_site_id), str(device_site_id)
            )
            problems.append(
                (
                    f"{end}_device",
                    FieldError(
                        "val.device_site", device=device_key, actual=actual, expected=site_key
                    ),
                )
            )
    if (
        values.get("a_site")
        and values.get("a_site") == values.get("z_site")
        and values.get("a_device") == values.get("z_device")
        and values.get("a_interface") == values.get("z_interface")
    ):
        problems.append(("z_site", FieldError("val.same_ends")))
    return problems


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


#: A certificate of conformity is re-attested every three years.
ATTESTATION_YEARS: Final = 3


def _prepare_attestation(values: dict[str, Any]) -> None:
    """Without a stated end, a certificate is valid until the re-attestation 3 years on."""
    issued = values.get("issued_on")
    if issued and values.get("valid_until") is None:
        values["valid_until"] = _add_years(issued, ATTESTATION_YEARS)


def _check_attestation(values: dict[str, Any], refs: RefRows) -> Problems:
    issued, until = values.get("issued_on"), values.get("valid_until")
    if issued and until and until <= issued:
        return [("valid_until", FieldError("val.order", later="valid_until", earlier="issued_on"))]
    return []


def _check_control_point(values: dict[str, Any], refs: RefRows) -> Problems:
    recurrence = values.get("recurrence")
    needs = {
        "once": ("due_date",),
        "monthly": ("due_day", "valid_from", "valid_until"),
        "quarterly": ("due_day", "valid_from", "valid_until"),
        "yearly": ("due_day", "due_month", "valid_from", "valid_until"),
    }.get(recurrence or "", ())
    missing = [n for n in needs if values.get(n) is None]
    if missing:
        return [
            (missing[0], FieldError("val.schedule", recurrence=recurrence, need=", ".join(needs)))
        ]
    start, end = values.get("valid_from"), values.get("valid_until")
    if start and end and end < start:
        return [("valid_until", FieldError("val.order", later="valid_until", earlier="valid_from"))]
    if recurrence == "yearly":
        try:
            dt.date(2024, values["due_month"], values["due_day"])
        except ValueError:
            return [
                (
                    "due_day",
                    FieldError("val.daymonth", value=f"{values['due_day']}.{values['due_month']}"),
                )
            ]
    return []


def _check_indicator(values: dict[str, Any], refs: RefRows) -> Problems:
    query = values.get("fact_query")
    if query and query not in FACT_QUERIES:
        return [
            ("fact_query", FieldError("val.fact_query", value=query, valid=valid_fact_queries()))
        ]
    return []


def _maintenance_objects(values: dict[str, Any]) -> Iterable[tuple[str, str, str]]:
    for obj in values.get("objects") or []:
        yield "objects", OBJECT_KINDS[obj["kind"]], obj["key"]


def _check_maintenance(values: dict[str, Any], refs: RefRows) -> Problems:
    start, end = values.get("starts_at"), values.get("ends_at")
    if start and end and end <= start:
        return [("ends_at", FieldError("val.order", later="ends_at", earlier="starts_at"))]
    return []


# --- the kinds ---------------------------------------------------------------------------------

E = choices

KINDS: Final[dict[str, KindSpec]] = {
    spec.name: spec
    for spec in (
        KindSpec(
            "regions",
            "Регионы",
            Region,
            "code",
            (
                Column("code", "код", required=True, max_len=64),
                Column("name", "наименование", required=True, max_len=255, aliases=("название",)),
                Column("timezone", "часовой пояс", max_len=64),
                SYNTHETIC,
            ),
        ),
        KindSpec(
            "districts",
            "Муниципальные образования",
            District,
            "code",
            (
                Column("code", "код", required=True, max_len=64),
                Column("name", "наименование", required=True, max_len=255, aliases=("название",)),
                Column("region", "регион", Kind.REF, ref="regions", required=True),
                SYNTHETIC,
            ),
        ),
        KindSpec(
            "organizations",
            "Организации",
            Organization,
            "code",
            (
                Column("code", "код", required=True, max_len=64),
                Column(
                    "kind",
                    "вид",
                    Kind.ENUM,
                    enum=E.OrganizationKind,
                    required=True,
                    aliases=("тип",),
                ),
                Column("short_name", "краткое наименование", required=True, max_len=255),
                Column("full_name", "полное наименование", required=True, max_len=1000),
                Column("frmo_oid", "OID ФРМО", max_len=128, unique=True, aliases=("oid", "фрмо")),
                Column("inn", "ИНН", max_len=12),
                Column(
                    "district",
                    "муниципальное образование",
                    Kind.REF,
                    ref="districts",
                    aliases=("район",),
                ),
                Column("contact", "контакт", max_len=500, aliases=("контакты",)),
                SYNTHETIC,
            ),
            check=_check_organization,
        ),
        KindSpec(
            "sites",
            "Площадки",
            Site,
            "code",
            (
                Column("code", "код", required=True, max_len=64),
                Column("name", "наименование", required=True, max_len=500, aliases=("название",)),
                Column("kind", "вид", Kind.ENUM, enum=E.SiteKind, required=True, aliases=("тип",)),
                Column("status", "статус", Kind.ENUM, enum=E.SiteStatus, default="active"),
                Column("address", "адрес", max_len=1000),
                Column(
                    "district",
                    "муниципальное образование",
                    Kind.REF,
                    ref="districts",
                    aliases=("район",),
                ),
                Column(
                    "organization", "организация", Kind.REF, ref="organizations", aliases=("мо",)
                ),
                Column("latitude", "широта", Kind.FLOAT, low=-90, high=90),
                Column("longitude", "долгота", Kind.FLOAT, low=-180, high=180),
                SYNTHETIC,
            ),
        ),
        KindSpec(
            "devices",
            "Устройства",
            Device,
            "name",
            (
                Column("name", "имя", required=True, max_len=64, aliases=("hostname",)),
                Column("site", "площадка", Kind.REF, ref="sites", required=True),
                Column("role", "роль", Kind.ENUM, enum=E.DeviceRole, required=True),
                Column("vendor", "производитель", max_len=100),
                Column("model", "модель", max_len=100),
                Column("platform", "платформа", required=True, max_len=64),
                Column("mgmt_address", "адрес управления", Kind.IP, aliases=("ip",)),
                Column("snmp_profile", "профиль SNMP", max_len=64),
                Column("serial", "серийный номер", max_len=100),
                Column("status", "статус", Kind.ENUM, enum=E.DeviceStatus, default="active"),
                SYNTHETIC,
            ),
            check=_check_device,
        ),
        KindSpec(
            "vipnet-networks",
            "Сети ViPNet",
            VipnetNetwork,
            "number",
            (
                Column("number", "номер", Kind.INT, required=True, low=1, high=65535),
                Column("name", "наименование", required=True, max_len=255),
                Column("admin_organization", "администратор сети", Kind.REF, ref="organizations"),
            ),
        ),
        KindSpec(
            "vipnet-nodes",
            "Узлы ViPNet",
            VipnetNode,
            "vipnet_id",
            (
                Column(
                    "vipnet_id",
                    "идентификатор",
                    Kind.VIPNET_ID,
                    required=True,
                    aliases=("id", "id узла"),
                ),
                Column("network", "сеть", Kind.REF, ref="vipnet-networks"),
                Column("name", "наименование", required=True, max_len=255, aliases=("имя",)),
                Column(
                    "kind", "вид", Kind.ENUM, enum=E.VipnetNodeKind, required=True, aliases=("тип",)
                ),
                Column("software_version", "версия ПО", max_len=64, aliases=("версия",)),
                Column("device", "устройство", Kind.REF, ref="devices", unique=True),
                Column("keys_issued_on", "СКИ выдан", Kind.DATE, aliases=("ключи выданы",)),
                Column("keys_valid_until", "СКИ действует до", Kind.DATE, aliases=("ключи до",)),
                Column("certificate_valid_until", "сертификат действует до", Kind.DATE),
                Column("enabled", "включён", Kind.BOOL, default=True),
            ),
            check=_check_node,
            prepare=_prepare_node,
            derived=("network",),
        ),
        KindSpec(
            "workstations",
            "АРМ",
            Workstation,
            "hostname",
            (
                Column("hostname", "имя компьютера", required=True, max_len=64, aliases=("имя",)),
                Column("site", "площадка", Kind.REF, ref="sites", required=True),
                Column("inventory_number", "инвентарный номер", max_len=64, unique=True),
                Column("os", "ОС", max_len=100),
                Column(
                    "protected_network",
                    "подключён к ЗСПД",
                    Kind.BOOL,
                    aliases=("зспд",),
                    default=False,
                ),
                Column("vipnet_node", "узел ViPNet", Kind.REF, ref="vipnet-nodes", unique=True),
                SYNTHETIC,
            ),
        ),
        KindSpec(
            "channels",
            "Каналы связи",
            Channel,
            "key",
            (
                Column("key", "ключ", required=True, max_len=64, aliases=("код",)),
                Column("name", "наименование", max_len=500),
                Column(
                    "provider",
                    "оператор связи",
                    Kind.REF,
                    ref="organizations",
                    aliases=("провайдер",),
                ),
                Column("contract_number", "номер договора", max_len=100, aliases=("договор",)),
                Column("contract_date", "дата договора", Kind.DATE),
                Column(
                    "bandwidth_mbps",
                    "пропускная способность, Мбит/с",
                    Kind.DECIMAL,
                    low=0.001,
                    aliases=("скорость",),
                ),
                Column("medium", "среда", Kind.ENUM, enum=E.ChannelMedium, required=True),
                Column("a_site", "площадка A", Kind.REF, ref="sites", required=True),
                Column("a_device", "устройство A", Kind.REF, ref="devices"),
                Column("a_interface", "интерфейс A", max_len=64),
                Column("a_address", "адрес A", Kind.IP),
                Column("z_site", "площадка Z", Kind.REF, ref="sites", required=True),
                Column("z_device", "устройство Z", Kind.REF, ref="devices"),
                Column("z_interface", "интерфейс Z", max_len=64),
                Column("z_address", "адрес Z", Kind.IP),
                Column("role", "роль", Kind.ENUM, enum=E.ChannelRole, default="primary"),
                Column("redundancy_group", "группа резервирования", max_len=64),
                Column(
                    "sla_target_pct",
                    "целевая доступность, %",
                    Kind.DECIMAL,
                    low=0.001,
                    high=100,
                    aliases=("sla",),
                ),
                Column("status", "статус", Kind.ENUM, enum=E.ChannelStatus, default="active"),
                SYNTHETIC,
            ),
            check=_check_channel,
            ref_kinds={"provider": ("provider",)},
        ),
        KindSpec(
            "attestations",
            "Аттестаты",
            Attestation,
            "number",
            (
                Column("number", "номер", required=True, max_len=64),
                Column(
                    "scope", "объект аттестации", Kind.ENUM, enum=E.AttestationScope, required=True
                ),
                Column("object_name", "наименование объекта", required=True, max_len=500),
                Column("site", "площадка", Kind.REF, ref="sites"),
                Column("organization", "организация", Kind.REF, ref="organizations"),
                Column("kind", "вид", Kind.ENUM, enum=E.AttestationKind, required=True),
                Column("issued_on", "дата выдачи", Kind.DATE, required=True),
                Column("valid_until", "действует до", Kind.DATE),
                Column("issuer", "выдан", max_len=500, aliases=("орган",)),
                Column("notes", "примечание", aliases=("примечания",)),
            ),
            check=_check_attestation,
            prepare=_prepare_attestation,
            derived=("valid_until",),
        ),
        KindSpec(
            "control-points",
            "Контрольные точки",
            ControlPoint,
            "code",
            (
                Column("code", "код", required=True, max_len=64, aliases=("номер",)),
                Column("title", "наименование", required=True, aliases=("контрольная точка",)),
                Column("responsible", "ответственный", max_len=500),
                Column("evidence", "вид документа", max_len=500, aliases=("документ",)),
                Column("control_level", "уровень контроля", max_len=16),
                Column("recurrence", "периодичность", Kind.ENUM, enum=E.Recurrence, required=True),
                Column("due_date", "срок", Kind.DATE),
                Column("due_day", "день", Kind.INT, low=1, high=31),
                Column("due_month", "месяц", Kind.INT, low=1, high=12),
                Column("valid_from", "действует с", Kind.DATE),
                Column("valid_until", "действует по", Kind.DATE),
                Column("notes", "примечание", aliases=("примечания",)),
            ),
            check=_check_control_point,
        ),
        KindSpec(
            "indicators",
            "Показатели",
            Indicator,
            "code",
            (
                Column("code", "код", required=True, max_len=64, aliases=("номер",)),
                Column("title", "наименование", required=True, aliases=("показатель",)),
                Column(
                    "unit", "единица измерения", required=True, max_len=64, aliases=("ед. изм.",)
                ),
                Column("base_value", "базовое значение", Kind.DECIMAL),
                Column("base_date", "дата базового значения", Kind.DATE),
                Column("fact_query", "запрос факта", max_len=64),
            ),
            check=_check_indicator,
            yearly_attr="plan",
            yearly_prefixes=("plan", "план"),
        ),
        KindSpec(
            "maintenance",
            "Регламентные работы",
            MaintenanceWindow,
            "key",
            (
                Column("key", "ключ", required=True, max_len=64, aliases=("код",)),
                Column("objects", "объекты", Kind.OBJECTS, required=True),
                Column("starts_at", "начало", Kind.DATETIME, required=True),
                Column("ends_at", "окончание", Kind.DATETIME, required=True),
                Column("reason", "причина", required=True),
            ),
            check=_check_maintenance,
            object_refs=_maintenance_objects,
        ),
    )
}

#: Natural-key attribute of each kind, for resolving references (``sites`` → ``Site.code``).
KEY_ATTRS: Final[dict[str, str]] = {name: spec.key for name, spec in KINDS.items()}

#: Object kinds of maintenance windows (and later the status ledger) → their import kinds.
OBJECT_KINDS: Final[dict[str, str]] = {
    "site": "sites",
    "device": "devices",
    "channel": "channels",
    "vipnet_node": "vipnet-nodes",
    "workstation": "workstations",
}


class UnknownKind(KeyError):
    """The kind name is not one of :data:`KINDS`."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown kind {name!r}; valid kinds: {', '.join(KINDS)}")

    def __str__(self) -> str:
        return str(self.args[0])


def get_kind(name: str) -> KindSpec:
    """The spec of kind ``name``; :class:`UnknownKind` lists the valid ones."""
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownKind(name) from None
