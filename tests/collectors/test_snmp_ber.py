"""The BER codec: real net-snmp bytes decode right, round trips hold, bad bytes only ever raise
SnmpDecodeError (property tests over arbitrary, truncated and mutated datagrams)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.snmp import ber
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

# A Response captured from net-snmp 5.9.3 (snmpd on loopback, community "public") to a GET of
# sysUpTime, sysName, ifOperStatus.1, a missing OID and ifHCInOctets.1.
NET_SNMP_RESPONSE = bytes.fromhex(
    "307602010104067075626c6963a269020401020304020100020100305b300d06082b06010201010300430137"
    "301706082b06010201010500040b6b6f6e7475722d74657374300f060a2b060102010202010801020101300b"
    "06072b06010201630080003013060b2b060102011f010101060146041c9d155c"
)

OIDS = st.builds(
    lambda first, second, rest: ".".join(map(str, (first, second, *rest))),
    st.integers(0, 1),
    st.integers(0, 39),
    st.lists(st.integers(0, 2**32 - 1), max_size=12),
) | st.builds(
    lambda second, rest: ".".join(map(str, (2, second, *rest))),
    st.integers(0, 2**32 - 81),
    st.lists(st.integers(0, 2**32 - 1), max_size=12),
)
U32 = st.integers(0, 2**32 - 1)
VALUES: st.SearchStrategy[SnmpValue] = st.one_of(
    st.builds(Integer, st.integers(-(2**31), 2**31 - 1)),
    st.builds(OctetString, st.binary(max_size=300)),
    st.builds(ObjectIdentifier, OIDS),
    st.builds(IpAddress, st.ip_addresses(v=4).map(str)),
    st.builds(Counter32, U32),
    st.builds(Gauge32, U32),
    st.builds(TimeTicks, U32),
    st.builds(Counter64, st.integers(0, 2**64 - 1)),
    st.builds(Opaque, st.binary(max_size=20)),
    st.just(Null()),
    st.just(NoSuchObject()),
    st.just(NoSuchInstance()),
    st.just(EndOfMibView()),
)
VARBINDS = st.lists(st.tuples(OIDS, VALUES), max_size=20)


def response(varbinds: list[tuple[str, SnmpValue]], request_id: int = 0x01020304) -> bytes:
    return ber.encode_message(
        community=b"public", tag=ber.RESPONSE, request_id=request_id, varbinds=varbinds
    )


def decodes_or_rejects(data: bytes) -> None:
    """The decoder's whole contract on hostile input: a Message, or SnmpDecodeError."""
    try:
        message = ber.decode_message(data)
    except SnmpDecodeError:
        return
    assert isinstance(message, ber.Message)


def test_real_net_snmp_response_decodes_to_typed_values() -> None:
    message = ber.decode_message(NET_SNMP_RESPONSE)

    assert (message.version, message.community) == (ber.VERSION_2C, b"public")
    assert message.pdu.tag == ber.RESPONSE
    assert message.pdu.request_id == 0x01020304
    assert dict(message.pdu.varbinds) == {
        "1.3.6.1.2.1.1.3.0": TimeTicks(55),
        "1.3.6.1.2.1.1.5.0": OctetString(b"kontur-test"),
        "1.3.6.1.2.1.2.2.1.8.1": Integer(1),
        "1.3.6.1.2.1.99.0": NoSuchObject(),
        "1.3.6.1.2.1.31.1.1.1.6.1": Counter64(480056668),
    }


@settings(max_examples=300, deadline=None)
@given(VARBINDS, st.integers(-(2**31), 2**31 - 1))
def test_encode_then_decode_gives_the_same_varbinds(
    varbinds: list[tuple[str, SnmpValue]], request_id: int
) -> None:
    message = ber.decode_message(response(varbinds, request_id))

    assert message.pdu.request_id == request_id
    assert list(message.pdu.varbinds) == varbinds


@settings(deadline=None)
@given(st.integers(ber.REQUEST_ID_MIN, ber.REQUEST_ID_MAX), st.lists(OIDS, min_size=1, max_size=8))
def test_template_patches_only_the_request_id(request_id: int, oids: list[str]) -> None:
    template = ber.RequestTemplate(b"community", oids)

    packet = template.render(request_id)

    assert packet == ber.encode_request(b"community", oids, request_id)
    decoded = ber.decode_message(packet)
    assert decoded.pdu.tag == ber.GET_REQUEST
    assert decoded.pdu.request_id == request_id
    assert [oid for oid, _ in decoded.pdu.varbinds] == oids
    assert all(value == Null() for _, value in decoded.pdu.varbinds)


def test_getnext_request_carries_its_own_tag() -> None:
    packet = ber.encode_request(b"c", ["1.3.6.1.2.1.2.2.1.2"], 77, tag=ber.GET_NEXT_REQUEST)

    assert ber.decode_message(packet).pdu.tag == ber.GET_NEXT_REQUEST


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise_anything_but_decode_error(data: bytes) -> None:
    decodes_or_rejects(data)


@settings(max_examples=300, deadline=None)
@given(VARBINDS)
def test_every_truncation_of_a_valid_response_is_rejected(
    varbinds: list[tuple[str, SnmpValue]],
) -> None:
    data = response(varbinds)
    for cut in range(len(data)):
        with pytest.raises(SnmpDecodeError):
            ber.decode_message(data[:cut])


@settings(max_examples=500, deadline=None)
@given(
    VARBINDS,
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "set", "insert", "delete"]),
            st.integers(0),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutations_of_a_valid_response_never_raise_anything_but_decode_error(
    varbinds: list[tuple[str, SnmpValue]], edits: list[tuple[str, int, int]]
) -> None:
    data = bytearray(response(varbinds))
    for kind, where, octet in edits:
        at = where % (len(data) + 1)
        if kind == "insert":
            data.insert(at, octet)
        elif data and at < len(data):
            if kind == "flip":
                data[at] ^= 1 << (octet % 8)
            elif kind == "set":
                data[at] = octet
            else:
                del data[at]
    decodes_or_rejects(bytes(data))


def test_the_real_response_survives_every_single_byte_change_without_crashing() -> None:
    for at in range(len(NET_SNMP_RESPONSE)):
        for octet in range(256):
            mutated = bytearray(NET_SNMP_RESPONSE)
            mutated[at] = octet
            decodes_or_rejects(bytes(mutated))


@pytest.mark.parametrize(
    ("hex_data", "reason"),
    [
        ("3080020101", "indefinite length"),
        ("30850000000003020101", "too long"),
        ("3003020101ff", "trailing octets after the message"),
        ("3003020103", "unsupported message version 3"),
        ("3008020101040170a000", "truncated"),
        ("3009020101040170a105ff", "runs past the end"),
        ("1f", "truncated"),
        ("bf0101", "multi-octet tag"),
    ],
)
def test_specific_malformations_are_named(hex_data: str, reason: str) -> None:
    with pytest.raises(SnmpDecodeError, match=reason):
        ber.decode_message(bytes.fromhex(hex_data))


def varbind_message(value_tlv: bytes, oid_tlv: bytes = bytes.fromhex("06032b0601")) -> bytes:
    """A v2c Response with one varbind whose value (or OID) encoding is given raw."""
    varbind = b"\x30" + bytes([len(oid_tlv) + len(value_tlv)]) + oid_tlv + value_tlv
    vbl = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = bytes.fromhex("020101020100020100") + vbl
    pdu = b"\xa2" + bytes([len(pdu_body)]) + pdu_body
    body = bytes.fromhex("020101040170") + pdu
    return b"\x30" + bytes([len(body)]) + body


@pytest.mark.parametrize(
    ("value_hex", "reason"),
    [
        ("0501ff", "must have no content"),
        ("8001ff", "must have no content"),
        ("4005010203040a", "IpAddress of 5 octets"),
        ("0200", "empty INTEGER"),
        ("020580000000ff", "out of range"),
        ("0205ff7fffffff", "out of range"),
        ("41050100000000", "out of range"),
        ("460a01000000000000000000", "too long"),
        ("4700", "unknown value tag"),
        ("2400", "unknown value tag"),
        ("0400ff", "trailing octets after a varbind value"),
    ],
)
def test_bad_values_are_rejected(value_hex: str, reason: str) -> None:
    with pytest.raises(SnmpDecodeError, match=reason):
        ber.decode_message(varbind_message(bytes.fromhex(value_hex)))


@pytest.mark.parametrize(
    ("oid_hex", "reason"),
    [
        ("0600", "empty OBJECT IDENTIFIER"),
        ("06032b8001", "non-minimal"),
        ("06022b86", "truncated OBJECT IDENTIFIER arc"),
        ("06072b8fffffffff7f", "above 2\\*\\*32-1"),
    ],
)
def test_bad_oids_are_rejected(oid_hex: str, reason: str) -> None:
    with pytest.raises(SnmpDecodeError, match=reason):
        ber.decode_message(varbind_message(b"\x05\x00", bytes.fromhex(oid_hex)))


def test_unsigned_values_without_their_leading_zero_are_read_as_unsigned() -> None:
    """Some agents send Counter32 4294967295 as ``41 04 ff ff ff ff``; net-snmp accepts it."""
    message = ber.decode_message(varbind_message(bytes.fromhex("4104ffffffff")))

    assert message.pdu.varbinds[0][1] == Counter32(2**32 - 1)


def test_a_huge_oid_arc_is_rejected_quickly() -> None:
    """64 KB of continuation octets must not make the decoder do quadratic big-int work."""
    arc = b"\xff" * 60_000 + b"\x7f"
    oid_tlv = b"\x06\x83" + len(arc).to_bytes(3, "big") + arc
    varbind = b"\x30\x83" + (len(oid_tlv) + 2).to_bytes(3, "big") + oid_tlv + b"\x05\x00"
    vbl = b"\x30\x83" + len(varbind).to_bytes(3, "big") + varbind
    pdu_body = bytes.fromhex("020101020100020100") + vbl
    pdu = b"\xa2\x83" + len(pdu_body).to_bytes(3, "big") + pdu_body
    body = bytes.fromhex("020101040170") + pdu
    data = b"\x30\x83" + len(body).to_bytes(3, "big") + body
    started = time.process_time()

    with pytest.raises(SnmpDecodeError, match="above"):
        ber.decode_message(data)
    assert time.process_time() - started < 1.0


@pytest.mark.parametrize("bad", ["", "1", "1.3.6.x", "3.1", "1.40", "1.3.-6", "1.3.6.4294967296"])
def test_invalid_oid_strings_are_config_errors(bad: str) -> None:
    with pytest.raises(SnmpConfigError, match="invalid OID"):
        ber.RequestTemplate(b"c", [bad])


def test_oid_strings_are_normalised() -> None:
    assert ber.RequestTemplate(b"c", [".1.3.06.1"]).oids == ("1.3.6.1",)
