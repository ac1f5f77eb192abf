"""Column definitions of import/export files and the parsing and formatting of their values.

A :class:`Column` knows its English and Russian header, how to parse a cell (string from CSV,
native value from XLSX/JSON/YAML) and how to write the value back so that an export re-imports
unchanged.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Any

from cmdb.choices import LABELS_RU


class FieldError(Exception):
    """A cell's value is invalid; ``key`` and ``params`` form the localized reason."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)


class Kind(Enum):
    """How a column's cells are parsed."""

    STR = "str"
    INT = "int"
    DECIMAL = "decimal"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    REF = "ref"
    IP = "ip"
    VIPNET_ID = "vipnet_id"
    OBJECTS = "objects"


@dataclass(frozen=True)
class Column:
    """One column of an entity kind's import/export files."""

    name: str
    ru: str
    kind: Kind = Kind.STR
    attr: str | None = None
    required: bool = False
    enum: type[StrEnum] | None = None
    ref: str | None = None
    max_len: int | None = None
    low: float | None = None
    high: float | None = None
    aliases: tuple[str, ...] = ()
    unique: bool = False
    default: Any = None
    #: The model attribute this column writes (computed: ``attr``, or ``<name>_id`` for refs).
    target: str = field(init=False)

    def __post_init__(self) -> None:
        target = self.attr or (f"{self.name}_id" if self.kind is Kind.REF else self.name)
        object.__setattr__(self, "target", target)

    def header_names(self) -> tuple[str, ...]:
        """Every header spelling accepted for this column, normalized."""
        return tuple(normalize_header(n) for n in (self.name, self.ru, *self.aliases))


def normalize_header(name: str) -> str:
    """Compare headers ignoring case, surrounding spaces, ``ё`` and space/underscore/hyphen."""
    return re.sub(r"[\s_\-]+", "_", name.strip().lower().replace("ё", "е"))


_TRUE = {"1", "true", "yes", "y", "да", "д", "+", "истина", "x", "✓"}
_FALSE = {"0", "false", "no", "n", "нет", "н", "-", "ложь", ""}
_DATE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_VIPNET_RE = re.compile(r"^(?:0x)?([0-9a-f]{8})$")


def enum_lookup(enum: type[StrEnum]) -> dict[str, str]:
    """Accepted spellings (value or Russian label, any case) → stored value."""
    lookup: dict[str, str] = {}
    for member in enum:
        lookup[member.value] = member.value
        ru = LABELS_RU.get(member.value)
        if ru:
            lookup[ru.lower()] = member.value
    return lookup


def parse_date(raw: Any) -> dt.date:
    """DD.MM.YYYY, YYYY-MM-DD, or a native date/datetime (from XLSX)."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip()
    match = _DATE_RE.match(text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise FieldError("val.date", value=text) from exc


def parse_datetime(raw: Any, zone: dt.tzinfo) -> dt.datetime:
    """ISO 8601 (offset honoured) or DD.MM.YYYY HH:MM[:SS]; naive means the region's zone."""
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        text = str(raw).strip()
        try:
            match = re.match(
                r"^(\d{1,2})\.(\d{1,2})\.(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$", text
            )
            if match:
                d, m, y, hh, mm, ss = match.groups()
                value = dt.datetime(int(y), int(m), int(d), int(hh), int(mm), int(ss or 0))
            else:
                value = dt.datetime.fromisoformat(text)
        except ValueError as exc:
            raise FieldError("val.datetime", value=text) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def normalize_vipnet_id(raw: Any) -> str:
    """``1A0E000D`` / ``0x1a0e000d`` → ``0x1a0e000d``."""
    text = str(raw).strip().lower()
    match = _VIPNET_RE.match(text)
    if not match:
        raise FieldError("val.vipnet_id", value=text)
    return "0x" + match.group(1)


def vipnet_network_number(vipnet_id: str) -> int:
    """The network number a normalized ViPNet ID belongs to: its first four hex digits."""
    return int(vipnet_id[2:6], 16)


def parse_cell(column: Column, raw: Any, zone: dt.tzinfo) -> Any:
    """Parse one cell; blank → None. Raises :class:`FieldError`. REF values stay key strings."""
    kind = column.kind
    if type(raw) is str:
        raw = raw.strip()
        if not raw:
            return None
        if kind is Kind.STR:
            if column.max_len and len(raw) > column.max_len:
                raise FieldError("val.too_long", max=column.max_len)
            return raw
        if kind is Kind.REF:
            return raw
    elif raw is None:
        return None
    if kind is Kind.STR:
        text = str(raw).strip()
        if isinstance(raw, float) and raw.is_integer():
            text = str(int(raw))
        if column.max_len and len(text) > column.max_len:
            raise FieldError("val.too_long", max=column.max_len)
        return text
    if kind is Kind.REF:
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        return str(raw).strip()
    if kind is Kind.INT:
        try:
            if isinstance(raw, bool):
                raise ValueError(raw)
            if isinstance(raw, float):
                if not raw.is_integer():
                    raise ValueError(raw)
                value: Any = int(raw)
            else:
                value = int(str(raw).strip())
        except ValueError as exc:
            raise FieldError("val.int", value=str(raw)) from exc
        _check_range(column, value)
        return value
    if kind in (Kind.DECIMAL, Kind.FLOAT):
        try:
            if isinstance(raw, bool):
                raise InvalidOperation(raw)
            text = str(raw).strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
            number = Decimal(text)
            if not number.is_finite():
                raise InvalidOperation(text)
        except InvalidOperation as exc:
            raise FieldError("val.number", value=str(raw)) from exc
        _check_range(column, number)
        return float(number) if kind is Kind.FLOAT else number
    if kind is Kind.BOOL:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise FieldError("val.bool", value=str(raw))
    if kind is Kind.DATE:
        return parse_date(raw)
    if kind is Kind.DATETIME:
        return parse_datetime(raw, zone)
    if kind is Kind.ENUM:
        assert column.enum is not None
        lookup = enum_lookup(column.enum)
        found = lookup.get(str(raw).strip().lower())
        if found is None:
            valid = ", ".join(m.value for m in column.enum)
            raise FieldError("val.enum", value=str(raw), valid=valid)
        return found
    if kind is Kind.IP:
        text = str(raw).strip()
        try:
            ipaddress.ip_address(text)
        except ValueError as exc:
            raise FieldError("val.ip", value=text) from exc
        return text
    if kind is Kind.VIPNET_ID:
        return normalize_vipnet_id(raw)
    if kind is Kind.OBJECTS:
        return parse_objects(raw)
    raise AssertionError(kind)  # pragma: no cover


def parse_objects(raw: Any) -> list[dict[str, str]]:
    """``site:DC-PRIMARY; device:rtr-1`` (or a list of such strings) → [{kind, key}, …]."""
    from cmdb.choices import ObjectKind

    items = raw if isinstance(raw, list) else re.split(r"[;\n]", str(raw))
    valid = ", ".join(k.value for k in ObjectKind)
    result: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, dict):
            kind, key = str(item.get("kind", "")), str(item.get("key", ""))
        else:
            text = str(item).strip()
            if not text:
                continue
            kind, _, key = text.partition(":")
        kind, key = kind.strip().lower(), key.strip()
        if kind not in {k.value for k in ObjectKind} or not key:
            raise FieldError("val.object_ref", value=str(item), valid=valid)
        result.append({"kind": kind, "key": key})
    return result


def _check_range(column: Column, value: Any) -> None:
    if (column.low is not None and value < column.low) or (
        column.high is not None and value > column.high
    ):
        raise FieldError("val.range", value=value, low=column.low, high=column.high)


def format_value(column: Column, value: Any, zone: dt.tzinfo, *, native: bool) -> Any:
    """Format a stored value for export: text for CSV/XLSX, JSON-friendly natives if ``native``."""
    if value is None:
        return None if native else ""
    if isinstance(value, bool):
        return value if native else ("true" if value else "false")
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        normalized = value.normalize()
        if native:
            return int(normalized) if normalized == normalized.to_integral() else float(normalized)
        return format(normalized, "f")
    if column.kind is Kind.OBJECTS:
        return "; ".join(f"{o['kind']}:{o['key']}" for o in value)
    if native:
        return value
    return str(value)
