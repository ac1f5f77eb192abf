"""Typed SNMP values, targets and results: the only shapes that leave the SNMP layer.

Every value an agent can put in a v2c/v3 response varbind has its own frozen dataclass here, so
callers match on type instead of guessing (``Counter32(5)`` is not ``Gauge32(5)``). The codec in
:mod:`collectors.snmp.ber` and the pysnmp adapter both produce these and nothing else.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from collectors.snmp.errors import SnmpError


@dataclass(frozen=True, slots=True)
class Integer:
    """INTEGER / Integer32 (signed, -2**31 .. 2**31-1)."""

    value: int


@dataclass(frozen=True, slots=True)
class OctetString:
    """OCTET STRING: raw bytes; :meth:`text` decodes them for people."""

    value: bytes

    def text(self) -> str:
        """The bytes as text (UTF-8, undecodable bytes replaced), trailing NULs stripped."""
        return self.value.decode("utf-8", errors="replace").rstrip("\x00")


@dataclass(frozen=True, slots=True)
class ObjectIdentifier:
    """OBJECT IDENTIFIER as a dotted string, e.g. ``1.3.6.1.2.1.1.3.0``."""

    value: str


@dataclass(frozen=True, slots=True)
class IpAddress:
    """IpAddress (IPv4, four octets) as a dotted quad."""

    value: str

    @property
    def address(self) -> ipaddress.IPv4Address:
        """The address as an :class:`ipaddress.IPv4Address`."""
        return ipaddress.IPv4Address(self.value)


@dataclass(frozen=True, slots=True)
class Counter32:
    """Counter32 (unsigned, wraps at 2**32)."""

    value: int


@dataclass(frozen=True, slots=True)
class Gauge32:
    """Gauge32 / Unsigned32 (unsigned, 0 .. 2**32-1)."""

    value: int


@dataclass(frozen=True, slots=True)
class TimeTicks:
    """TimeTicks: hundredths of a second (unsigned 32-bit)."""

    value: int

    @property
    def seconds(self) -> float:
        """The value in seconds."""
        return self.value / 100.0


@dataclass(frozen=True, slots=True)
class Counter64:
    """Counter64 (unsigned, wraps at 2**64)."""

    value: int


@dataclass(frozen=True, slots=True)
class Opaque:
    """Opaque: an arbitrary ASN.1 value wrapped in an octet string, kept raw."""

    value: bytes


@dataclass(frozen=True, slots=True)
class Null:
    """NULL (what a request carries; an agent should not answer with it)."""


@dataclass(frozen=True, slots=True)
class NoSuchObject:
    """The agent implements no such object (v2c exception value)."""


@dataclass(frozen=True, slots=True)
class NoSuchInstance:
    """The object exists but not this instance (v2c exception value)."""


@dataclass(frozen=True, slots=True)
class EndOfMibView:
    """No object follows in the agent's view (v2c exception value, GETNEXT/GETBULK)."""


SnmpValue: TypeAlias = (
    Integer
    | OctetString
    | ObjectIdentifier
    | IpAddress
    | Counter32
    | Gauge32
    | TimeTicks
    | Counter64
    | Opaque
    | Null
    | NoSuchObject
    | NoSuchInstance
    | EndOfMibView
)
"""Any value a varbind can carry."""

NumericValue: TypeAlias = Integer | Counter32 | Gauge32 | TimeTicks | Counter64
"""The values with an integer ``value``."""

#: The "this OID has no value" answers (RFC 3416 exception values).
EXCEPTION_VALUES: tuple[type, ...] = (NoSuchObject, NoSuchInstance, EndOfMibView)


def as_number(value: SnmpValue | None) -> float | None:
    """The value as a number, if it is numeric or a decimal string (``laLoad`` is "0.25")."""
    if isinstance(value, Integer | Counter32 | Gauge32 | TimeTicks | Counter64):
        return float(value.value)
    if isinstance(value, OctetString):
        try:
            return float(value.value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
    return None


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """Where to send a request: an agent's address and the name of its credential profile."""

    host: str
    port: int
    credential: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class SnmpResult:
    """The outcome of one GET or walk: values keyed by dotted OID, or the error that stopped it.

    ``values`` keeps the agent's order, keyed by canonical dotted OIDs (no leading dot). A partial
    walk can have both values and an error. ``rtt_s`` is the round-trip time of the answering
    exchange (for a walk: the whole walk's duration), or ``None`` when nothing answered.
    """

    target: SnmpTarget
    values: Mapping[str, SnmpValue] = field(default_factory=dict)
    error: SnmpError | None = None
    rtt_s: float | None = None

    @property
    def ok(self) -> bool:
        """True when the exchange completed without an error."""
        return self.error is None
