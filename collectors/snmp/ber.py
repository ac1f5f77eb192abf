"""A small, strict BER codec for SNMP v1/v2c messages (RFC 3416 PDUs, X.690 basic encoding).

Only what SNMP community messages use: definite lengths, one-byte tags, the universal types
INTEGER, OCTET STRING, NULL, OBJECT IDENTIFIER, SEQUENCE, the SMI application types and the
three v2c exception values. Decoding is strict about structure: every length must fit inside its
parent, nothing may trail a complete element, integers must fit their SMI range, OIDs must be
well-formed. Any such problem, including truncation, raises :class:`SnmpDecodeError` and nothing
else, so a datagram from the network can never crash a caller with ``IndexError``.

Two liberties, both the ones net-snmp itself takes: long-form lengths need not be minimal
(net-snmp sends ``82 00 2c``), and an unsigned SMI value whose top bit is set may come without the
leading zero octet (some agents omit it); it is then read as unsigned.

:class:`RequestTemplate` pre-encodes a GET/GETNEXT for a fixed community and OID list once; each
send only patches the four request-id octets. Request ids are kept in ``[REQUEST_ID_MIN,
REQUEST_ID_MAX]``, where the minimal BER encoding is always exactly four octets, so the patched
message stays valid BER.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from collectors.snmp.errors import SnmpConfigError, SnmpDecodeError
from collectors.snmp.types import (
    Counter32,
    Counter64,
    EndOfMibView,
    Gauge32,
    Integer,
    IpAddress,
    NoSuchInstance,
    NoSuchObject,
    Null,
    ObjectIdentifier,
    OctetString,
    Opaque,
    SnmpValue,
    TimeTicks,
)

# Message versions on the wire.
VERSION_1: Final = 0
VERSION_2C: Final = 1

# PDU tags (context-specific, constructed).
GET_REQUEST: Final = 0xA0
GET_NEXT_REQUEST: Final = 0xA1
RESPONSE: Final = 0xA2
SET_REQUEST: Final = 0xA3
GET_BULK_REQUEST: Final = 0xA5
INFORM_REQUEST: Final = 0xA6
SNMPV2_TRAP: Final = 0xA7
REPORT: Final = 0xA8
_PDU_TAGS: Final = frozenset(
    {
        GET_REQUEST,
        GET_NEXT_REQUEST,
        RESPONSE,
        SET_REQUEST,
        GET_BULK_REQUEST,
        INFORM_REQUEST,
        SNMPV2_TRAP,
        REPORT,
    }
)

# Universal and application tags.
_INTEGER: Final = 0x02
_OCTET_STRING: Final = 0x04
_NULL: Final = 0x05
_OID: Final = 0x06
_SEQUENCE: Final = 0x30
_IP_ADDRESS: Final = 0x40
_COUNTER32: Final = 0x41
_GAUGE32: Final = 0x42
_TIMETICKS: Final = 0x43
_OPAQUE: Final = 0x44
_COUNTER64: Final = 0x46
_NO_SUCH_OBJECT: Final = 0x80
_NO_SUCH_INSTANCE: Final = 0x81
_END_OF_MIB_VIEW: Final = 0x82

#: Request ids whose minimal encoding is exactly four octets (so a template can be patched).
REQUEST_ID_MIN: Final = 0x0080_0000
REQUEST_ID_MAX: Final = 0x7FFF_FFFF

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_UINT32_MAX: Final = 2**32 - 1
_UINT64_MAX: Final = 2**64 - 1
_MAX_OID_ARCS: Final = 128
_MAX_UDP_PAYLOAD: Final = 65_507

_NULL_INSTANCES: Final[dict[int, SnmpValue]] = {
    _NULL: Null(),
    _NO_SUCH_OBJECT: NoSuchObject(),
    _NO_SUCH_INSTANCE: NoSuchInstance(),
    _END_OF_MIB_VIEW: EndOfMibView(),
}


@dataclass(frozen=True, slots=True)
class Pdu:
    """One decoded PDU; for GETBULK the status/index fields hold non-repeaters/max-repetitions."""

    tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: tuple[tuple[str, SnmpValue], ...]


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded community-based message (SNMPv1 or v2c)."""

    version: int
    community: bytes
    pdu: Pdu


# --------------------------------------------------------------------------------------------
# Encoding


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _signed(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)


def _unsigned(value: int) -> bytes:
    # bit_length()//8 + 1 octets always leave the top bit clear: minimal two's complement.
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def parse_oid(text: str) -> tuple[int, ...]:
    """The arcs of a dotted OID (a leading dot is allowed); SnmpConfigError if it is not one."""
    raw = text[1:] if text.startswith(".") else text
    parts = raw.split(".")
    if len(parts) < 2 or not all(p.isdigit() and p.isascii() for p in parts):
        raise SnmpConfigError(f"invalid OID {text!r}: expected dotted decimal arcs")
    arcs = tuple(int(p) for p in parts)
    if arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise SnmpConfigError(f"invalid OID {text!r}: bad first two arcs")
    if len(arcs) > _MAX_OID_ARCS or any(a > _UINT32_MAX for a in arcs):
        raise SnmpConfigError(f"invalid OID {text!r}: too many arcs or an arc above 2**32-1")
    return arcs


def normalize_oid(text: str) -> str:
    """The canonical dotted form of an OID (no leading dot, no leading zeros)."""
    return ".".join(str(a) for a in parse_oid(text))


def _oid_content(arcs: Sequence[int]) -> bytes:
    out = bytearray()
    for arc in (arcs[0] * 40 + arcs[1], *arcs[2:]):
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_oid(text: str) -> bytes:
    """The complete TLV of an OBJECT IDENTIFIER."""
    return _tlv(_OID, _oid_content(parse_oid(text)))


def encode_value(value: SnmpValue) -> bytes:
    """The complete TLV of one varbind value; ValueError if it is out of its type's range."""
    if isinstance(value, Integer):
        if not _INT32_MIN <= value.value <= _INT32_MAX:
            raise ValueError(f"Integer32 out of range: {value.value}")
        return _tlv(_INTEGER, _signed(value.value))
    if isinstance(value, OctetString):
        return _tlv(_OCTET_STRING, value.value)
    if isinstance(value, ObjectIdentifier):
        return encode_oid(value.value)
    if isinstance(value, IpAddress):
        return _tlv(_IP_ADDRESS, ipaddress.IPv4Address(value.value).packed)
    if isinstance(value, Counter32 | Gauge32 | TimeTicks):
        if not 0 <= value.value <= _UINT32_MAX:
            raise ValueError(f"{type(value).__name__} out of range: {value.value}")
        tag = {Counter32: _COUNTER32, Gauge32: _GAUGE32, TimeTicks: _TIMETICKS}[type(value)]
        return _tlv(tag, _unsigned(value.value))
    if isinstance(value, Counter64):
        if not 0 <= value.value <= _UINT64_MAX:
            raise ValueError(f"Counter64 out of range: {value.value}")
        return _tlv(_COUNTER64, _unsigned(value.value))
    if isinstance(value, Opaque):
        return _tlv(_OPAQUE, value.value)
    if isinstance(value, Null):
        return b"\x05\x00"
    if isinstance(value, NoSuchObject):
        return b"\x80\x00"
    if isinstance(value, NoSuchInstance):
        return b"\x81\x00"
    return b"\x82\x00"  # EndOfMibView


def encode_varbinds(varbinds: Sequence[tuple[str, SnmpValue]]) -> bytes:
    """The complete TLV of a VarBindList."""
    body = b"".join(_tlv(_SEQUENCE, encode_oid(oid) + encode_value(v)) for oid, v in varbinds)
    return _tlv(_SEQUENCE, body)


def encode_message(
    *,
    community: bytes,
    tag: int,
    request_id: int,
    varbinds: Sequence[tuple[str, SnmpValue]],
    error_status: int = 0,
    error_index: int = 0,
    version: int = VERSION_2C,
) -> bytes:
    """A complete community message; agents in tests use it to answer, the client to ask."""
    if tag not in _PDU_TAGS:
        raise ValueError(f"not a v2c PDU tag: {tag:#x}")
    pdu = _tlv(
        tag,
        _tlv(_INTEGER, _signed(request_id))
        + _tlv(_INTEGER, _signed(error_status))
        + _tlv(_INTEGER, _signed(error_index))
        + encode_varbinds(varbinds),
    )
    return _tlv(_SEQUENCE, _tlv(_INTEGER, _signed(version)) + _tlv(_OCTET_STRING, community) + pdu)


def encode_request(
    community: bytes, oids: Sequence[str], request_id: int, *, tag: int = GET_REQUEST
) -> bytes:
    """A GET (or GETNEXT with ``tag=GET_NEXT_REQUEST``) for ``oids`` with NULL values."""
    return encode_message(
        community=community,
        tag=tag,
        request_id=request_id,
        varbinds=[(oid, Null()) for oid in oids],
    )


def encode_bulk_request(
    community: bytes, oids: Sequence[str], request_id: int, *, max_repetitions: int
) -> bytes:
    """A GETBULK for ``oids`` (no non-repeaters): up to ``max_repetitions`` successors of each."""
    return encode_message(
        community=community,
        tag=GET_BULK_REQUEST,
        request_id=request_id,
        varbinds=[(oid, Null()) for oid in oids],
        error_status=0,
        error_index=max_repetitions,
    )


def oid_key(oid: str) -> tuple[int, ...]:
    """A dotted OID as a tuple of arcs, for lexicographic comparison."""
    return tuple(map(int, oid.split(".")))


class RequestTemplate:
    """A GET/GETNEXT pre-encoded once; :meth:`render` only patches the request-id octets."""

    __slots__ = ("_head", "_tail", "community", "oids", "size", "tag")

    def __init__(self, community: bytes, oids: Sequence[str], *, tag: int = GET_REQUEST) -> None:
        if tag not in (GET_REQUEST, GET_NEXT_REQUEST):
            raise ValueError("a template is for GET or GETNEXT")
        if not oids:
            raise SnmpConfigError("a request needs at least one OID")
        self.community = community
        #: The requested OIDs in canonical dotted form, as the response must echo them.
        self.oids: tuple[str, ...] = tuple(normalize_oid(o) for o in oids)
        self.tag = tag
        tail = b"\x02\x01\x00\x02\x01\x00" + encode_varbinds([(o, Null()) for o in self.oids])
        pdu_header = bytes((tag,)) + _length(6 + len(tail))
        prefix = (
            _tlv(_INTEGER, _signed(VERSION_2C))
            + _tlv(_OCTET_STRING, community)
            + pdu_header
            + bytes((_INTEGER, 4))
        )
        self._head = bytes((_SEQUENCE,)) + _length(len(prefix) + 4 + len(tail)) + prefix
        self._tail = tail
        self.size = len(self._head) + 4 + len(tail)
        if self.size > _MAX_UDP_PAYLOAD:
            raise SnmpConfigError(f"a GET of {len(self.oids)} OIDs does not fit one datagram")

    def render(self, request_id: int) -> bytes:
        """The request with ``request_id`` (which must be within the 4-octet id range)."""
        return self._head + request_id.to_bytes(4, "big") + self._tail


# --------------------------------------------------------------------------------------------
# Decoding


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Tag, content start and content end of the element at ``pos`` (bounded by ``end``)."""
    if pos + 2 > end:
        raise SnmpDecodeError("truncated element header", pos)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise SnmpDecodeError(f"multi-octet tag {tag:#04x} is not used by SNMP", pos)
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise SnmpDecodeError("indefinite length is not allowed in SNMP", pos - 1)
    else:
        n = first & 0x7F
        if n > 4:
            raise SnmpDecodeError(f"length of {n} octets is too long", pos - 1)
        if pos + n > end:
            raise SnmpDecodeError("truncated length", pos)
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    stop = pos + length
    if stop > end:
        raise SnmpDecodeError(f"length {length} runs past the end of its container", pos)
    return tag, pos, stop


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    got, start, stop = _header(data, pos, end)
    if got != tag:
        raise SnmpDecodeError(f"expected {what} (tag {tag:#04x}), got tag {got:#04x}", pos)
    return start, stop


def _integer(data: bytes, start: int, stop: int, *, lo: int, hi: int, what: str) -> int:
    if start == stop:
        raise SnmpDecodeError(f"empty {what}", start)
    if stop - start > 9:
        raise SnmpDecodeError(f"{what} of {stop - start} octets is too long", start)
    value = int.from_bytes(data[start:stop], "big", signed=True)
    if value < lo and lo == 0 and stop - start in (4, 8):
        value += 1 << (8 * (stop - start))  # unsigned value without its leading zero octet
    if not lo <= value <= hi:
        raise SnmpDecodeError(f"{what} {value} out of range", start)
    return value


@functools.lru_cache(maxsize=16_384)
def _oid_text(raw: bytes) -> str:
    if not raw:
        raise SnmpDecodeError("empty OBJECT IDENTIFIER")
    arcs: list[int] = []
    arc = 0
    fresh = True
    for octet in raw:
        if fresh and octet == 0x80:
            raise SnmpDecodeError("non-minimal OBJECT IDENTIFIER arc")
        arc = (arc << 7) | (octet & 0x7F)
        if arc > _UINT32_MAX + 80:
            raise SnmpDecodeError("OBJECT IDENTIFIER arc above 2**32-1")
        if octet & 0x80:
            fresh = False
            continue
        if arc > _UINT32_MAX and arcs:
            raise SnmpDecodeError("OBJECT IDENTIFIER arc above 2**32-1")
        arcs.append(arc)
        arc = 0
        fresh = True
    if not fresh:
        raise SnmpDecodeError("truncated OBJECT IDENTIFIER arc")
    if len(arcs) >= _MAX_OID_ARCS:
        raise SnmpDecodeError("OBJECT IDENTIFIER has too many arcs")
    first = arcs[0]
    if first < 40:
        head = f"0.{first}"
    elif first < 80:
        head = f"1.{first - 40}"
    elif first - 80 <= _UINT32_MAX:
        head = f"2.{first - 80}"
    else:
        raise SnmpDecodeError("OBJECT IDENTIFIER arc above 2**32-1")
    if len(arcs) == 1:
        return head
    return head + "." + ".".join(map(str, arcs[1:]))


def _value(data: bytes, pos: int, end: int) -> SnmpValue:
    tag, start, stop = _header(data, pos, end)
    if stop != end:
        raise SnmpDecodeError("trailing octets after a varbind value", stop)
    if tag == _OCTET_STRING:
        return OctetString(data[start:stop])
    if tag == _INTEGER:
        return Integer(_integer(data, start, stop, lo=_INT32_MIN, hi=_INT32_MAX, what="INTEGER"))
    if tag == _COUNTER64:
        return Counter64(_integer(data, start, stop, lo=0, hi=_UINT64_MAX, what="Counter64"))
    if tag == _COUNTER32:
        return Counter32(_integer(data, start, stop, lo=0, hi=_UINT32_MAX, what="Counter32"))
    if tag == _GAUGE32:
        return Gauge32(_integer(data, start, stop, lo=0, hi=_UINT32_MAX, what="Gauge32"))
    if tag == _TIMETICKS:
        return TimeTicks(_integer(data, start, stop, lo=0, hi=_UINT32_MAX, what="TimeTicks"))
    if tag == _OID:
        return ObjectIdentifier(_oid_at(data, start, stop))
    if tag == _IP_ADDRESS:
        if stop - start != 4:
            raise SnmpDecodeError(f"IpAddress of {stop - start} octets", start)
        return IpAddress(".".join(map(str, data[start:stop])))
    if tag == _OPAQUE:
        return Opaque(data[start:stop])
    singleton = _NULL_INSTANCES.get(tag)
    if singleton is not None:
        if start != stop:
            raise SnmpDecodeError(f"tag {tag:#04x} must have no content", start)
        return singleton
    raise SnmpDecodeError(f"unknown value tag {tag:#04x}", pos)


def _oid_at(data: bytes, start: int, stop: int) -> str:
    try:
        return _oid_text(data[start:stop])
    except SnmpDecodeError as exc:
        raise SnmpDecodeError(exc.reason, start) from None


def decode_message(data: bytes) -> Message:
    """Decode one SNMPv1/v2c datagram; :class:`SnmpDecodeError` on anything malformed."""
    end = len(data)
    start, stop = _expect(data, 0, end, _SEQUENCE, "message SEQUENCE")
    if stop != end:
        raise SnmpDecodeError("trailing octets after the message", stop)
    s, e = _expect(data, start, stop, _INTEGER, "version")
    version = _integer(data, s, e, lo=0, hi=_INT32_MAX, what="version")
    if version not in (VERSION_1, VERSION_2C):
        raise SnmpDecodeError(f"unsupported message version {version}", s)
    s, pos = _expect(data, e, stop, _OCTET_STRING, "community")
    community = data[s:pos]
    tag, s, e = _header(data, pos, stop)
    if tag not in _PDU_TAGS:
        raise SnmpDecodeError(f"unsupported PDU tag {tag:#04x}", pos)
    if e != stop:
        raise SnmpDecodeError("trailing octets after the PDU", e)
    pdu_end = e
    s, e = _expect(data, s, pdu_end, _INTEGER, "request-id")
    request_id = _integer(data, s, e, lo=_INT32_MIN, hi=_INT32_MAX, what="request-id")
    s, e = _expect(data, e, pdu_end, _INTEGER, "error-status")
    error_status = _integer(data, s, e, lo=0, hi=_INT32_MAX, what="error-status")
    s, e = _expect(data, e, pdu_end, _INTEGER, "error-index")
    error_index = _integer(data, s, e, lo=0, hi=_INT32_MAX, what="error-index")
    pos, vbl_end = _expect(data, e, pdu_end, _SEQUENCE, "VarBindList")
    if vbl_end != pdu_end:
        raise SnmpDecodeError("trailing octets after the VarBindList", vbl_end)
    varbinds: list[tuple[str, SnmpValue]] = []
    while pos < vbl_end:
        s, vb_end = _expect(data, pos, vbl_end, _SEQUENCE, "VarBind")
        s, e = _expect(data, s, vb_end, _OID, "OBJECT IDENTIFIER")
        varbinds.append((_oid_at(data, s, e), _value(data, e, vb_end)))
        pos = vb_end
    return Message(
        version, community, Pdu(tag, request_id, error_status, error_index, tuple(varbinds))
    )
