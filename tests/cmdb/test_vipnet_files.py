"""Parsing ViPNet files: the real samples, synthetic network-1988 files and malformed input."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from cmdb.errors import ImportFailed
from cmdb.tabular import RowError
from cmdb.vipnet_files import (
    IplirNode,
    NodenameEntry,
    NodenameGroup,
    parse_iplir,
    parse_nodename,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "vipnet"


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def errors_of(exc: pytest.ExceptionInfo[ImportFailed]) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in exc.value.errors]


def nodename_line(name: str, enabled: str, category: str, address: str, vipnet_id: str) -> str:
    return f"{name:<50} {enabled} {category} {address} {vipnet_id}"


# --- iplir.conf: the real samples ---------------------------------------------------------------


def test_iplir01_nodes_filters_and_sections() -> None:
    config = parse_iplir(data("iplir01.conf"), "iplir01.conf")
    assert config.encoding == "koi8-r"
    assert [n.vipnet_id for n in config.nodes] == [
        "0x1a0e000d", "0x1a0e000b", "0x1a0e000c", "0x1a0e000a",
    ]  # fmt: skip
    assert [n.name for n in config.nodes] == [
        "координатор2", "administrator", "[comment] client1", "coordinator1",
    ]  # fmt: skip
    # (options: every key= value as written; compared with the typed fields below)
    assert replace(config.nodes[0], options={}) == IplirNode(
        vipnet_id="0x1a0e000d",
        name="координатор2",
        line=2,
        ip=("192.0.2.9", "192.0.2.10"),
        accessip=None,
        firewallip="192.0.2.11",
        port=55777,
        version="3.0-670",
        tunnel=("192.0.2.201-192.0.2.202 to 192.0.2.201-192.0.2.202",),
        proxyid="0x00000000",
        virtualip="203.0.113.1",
        usefirewall=False,
    )
    admin = config.nodes[1]
    assert (admin.accessip, admin.proxyid, admin.usefirewall, admin.version) == (
        "203.0.113.2", "0xfffffffe", True, "3.2-672",
    )  # fmt: skip
    assert admin.options["dynamic_timeout"] == ("0",)
    coordinator1 = config.nodes[3]
    assert coordinator1.ip == ("192.0.2.51", "192.0.2.3")
    assert coordinator1.network_number == 6670
    # The special IDs are filters, not nodes.
    assert [(f.vipnet_id, f.name) for f in config.filters] == [
        ("0xffffffff", "Encrypted broadcasts"),
        ("0xfffffffe", "Main Filter"),
    ]
    broadcasts = config.filters[0]
    assert len(broadcasts.values("filterudp")) == 9
    assert broadcasts.values("filterudp")[0] == "137, 137, pass, any"
    assert broadcasts.values("filterdefault") == ("drop",)
    assert config.servers == ("0x1a0e000a",)
    assert config.own_id == "0x1a0e000d"
    assert [s.name for s in config.sections] == [
        "adapter", "adapter", "dynamic", "misc", "debug", "servers", "virtualip", "visibility",
    ]  # fmt: skip
    assert [a.values("name") for a in config.section("adapter")] == [("eth1",), ("eth0",)]
    misc = config.section("misc")[0]
    assert misc.values("ciphertype") == ("gost",)
    # "; Do not delete ..." is a comment, not a key.
    assert dict(config.section("virtualip")[0].options)["startvirtualiphash"] == ("0xABCDEF01",)


def test_iplir02_keeps_a_name_with_inner_spaces() -> None:
    config = parse_iplir(data("iplir02.conf"), "iplir02.conf")
    client = next(n for n in config.nodes if n.vipnet_id == "0x1a0e000c")
    assert client.name == "client1" + " " * 39 + "6670"
    assert config.nodes[0].name == "координатор2"


def test_iplir03_real_and_virtual_addresses() -> None:
    config = parse_iplir(data("iplir03.conf"), "iplir03.conf")
    nodes = {n.vipnet_id: n for n in config.nodes}
    assert len(nodes) == 4
    coordinator1 = nodes["0x1a0e000a"]
    assert coordinator1.ip == ("192.0.2.51", "192.0.2.3")
    assert coordinator1.ip_virtual == (
        ("192.0.2.51", "198.51.100.4"),
        ("192.0.2.3", "198.51.100.40"),
    )
    assert coordinator1.options["accessiplist"] == (
        "192.0.2.51, auto, 192.0.2.51, 1, addrdoc",
        "192.0.2.3, auto, 0.0.0.0, 0, addrdoc",
    )
    assert coordinator1.options["exclude_from_tunnels"] == ("192.0.2.150-192.0.2.150",)
    assert nodes["0x1a0e000b"].ip == ("192.0.2.55",)
    assert nodes["0x1a0e000b"].ip_virtual == (("192.0.2.55", "203.0.113.2"),)
    assert nodes["0x1a0e000d"].ip_virtual == ()
    assert config.section("misc")[0].values("config_version") == ("4.2.3-3",)


def test_iplir_synthetic_network_1988() -> None:
    config = parse_iplir(data("iplir-1988.conf"), "iplir-1988.conf")
    assert [(n.vipnet_id, n.name, n.version) for n in config.nodes] == [
        ("0x07c40001", "Координатор ЦОД-1", "4.3-1"),
        ("0x07c40010", "АРМ ФАП-0010", "4.3-1"),
    ]
    assert {n.network_number for n in config.nodes} == {1988}
    assert config.servers == ("0x07c40001",)
    assert len(config.filters) == 2


# --- nodename.doc: the real samples --------------------------------------------------------------


def test_nodename01_nodes_and_group() -> None:
    entries = parse_nodename(data("nodename01.doc"), "nodename01.doc")
    assert entries.encoding == "cp866"
    assert entries == [
        NodenameEntry("0x1a0e000b", "administrator", True, "A", "00001A0E", 1, 1, 1),
        NodenameEntry("0x1a0e000c", "client1-renamed1", False, "A", "00001A0E", 2, 1, 2),
        NodenameEntry("0x1a0e000a", "coordinator1", True, "S", "00001A0E", 1, 0, 3),
        NodenameEntry("0x1a0e000d", "coordinator2", True, "S", "00001A0E", 2, 0, 4),
    ]
    assert [e.kind for e in entries] == ["client", "client", "coordinator", "coordinator"]
    assert {e.network_number for e in entries} == {6670}
    # The group is decoded (CP866) but is not a node.
    assert entries.groups == (NodenameGroup("0x1a0e0000", "Вся сеть", True, "C0001A0E", 5),)


def test_nodename02_name_filling_the_whole_column() -> None:
    entries = parse_nodename(data("nodename02.doc"), "nodename02.doc")
    assert [e.name for e in entries] == [
        "administrator", "client1" + " " * 39 + "6670", "coordinator1", "coordinator2",
    ]  # fmt: skip
    assert [g.name for g in entries.groups] == ["Вся сеть"]


def test_nodename_synthetic_network_1988() -> None:
    entries = parse_nodename(data("nodename-1988.doc"), "nodename-1988.doc")
    assert [(e.vipnet_id, e.name, e.kind, e.enabled) for e in entries] == [
        ("0x07c40001", "Координатор ЦОД", "coordinator", True),
        ("0x07c40002", "АРМ ФАП-0001", "client", False),
        ("0x07c40011", "Координатор МО-1", "coordinator", True),
        ("0x07c40012", "АРМ МО-1 регистратура", "client", True),
    ]
    assert [e.line for e in entries] == [1, 2, 3, 4]


# --- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_cyrillic_is_detected(bom: bytes) -> None:
    text = data("nodename-1988.doc").decode("cp866")
    entries = parse_nodename(bom + text.encode("utf-8"), "n.doc")
    assert entries.encoding == "utf-8"
    assert entries == parse_nodename(data("nodename-1988.doc"), "n.doc")
    config = parse_iplir(data("iplir-1988.conf").decode("koi8-r").encode("utf-8"), "i.conf")
    assert config.encoding == "utf-8"
    assert config.nodes[0].name == "Координатор ЦОД-1"


def test_ascii_file_reports_the_default_encoding() -> None:
    text = nodename_line("administrator", "1", "A", "00001A0E00010001", "1A0E000B")
    assert parse_nodename(text.encode("ascii"), "n.doc").encoding == "cp866"
    assert parse_nodename(text.encode("ascii"), "n.doc", "KOI8-R").encoding == "koi8-r"


def test_forced_encoding_overrides_the_default() -> None:
    cp866 = data("iplir-1988.conf").decode("koi8-r").encode("cp866")
    config = parse_iplir(cp866, "i.conf", encoding="cp866")
    assert config.encoding == "cp866"
    assert config.nodes[1].name == "АРМ ФАП-0010"


def test_wrong_encoding_forced_is_an_error_naming_the_right_one() -> None:
    # nodename.doc is CP866: read as KOI8-R its Cyrillic turns into box-drawing characters.
    with pytest.raises(ImportFailed) as exc:
        parse_nodename(data("nodename01.doc"), "n.doc", encoding="koi8-r")
    assert errors_of(exc) == [(5, "encoding")]
    assert "кодировка не koi8-r" in exc.value.errors[0].reason
    assert "--encoding cp866" in exc.value.errors[0].reason
    # iplir.conf is KOI8-R: not valid UTF-8; every undecodable line is reported.
    with pytest.raises(ImportFailed) as exc:
        parse_iplir(data("iplir-1988.conf"), "i.conf", encoding="utf-8")
    rows = [e.row for e in exc.value.errors]
    assert rows == [1, 4, 15, 30, 42]
    assert all(e.column == "encoding" for e in exc.value.errors)
    assert "не декодируется как utf-8: байт 0x" in exc.value.errors[0].reason
    assert "--encoding koi8-r" in exc.value.errors[0].reason
    # A CP866 iplir.conf read with the KOI8-R default.
    cp866 = data("iplir-1988.conf").decode("koi8-r").encode("cp866")
    with pytest.raises(ImportFailed) as exc:
        parse_iplir(cp866, "i.conf")
    assert exc.value.errors[0].row == 4  # line 1 is a comment: not checked
    assert "--encoding cp866" in exc.value.errors[0].reason


def test_unknown_encoding() -> None:
    with pytest.raises(ImportFailed) as exc:
        parse_iplir(b"[id]\n", "i.conf", encoding="klingon")
    assert exc.value.errors == [
        RowError("i.conf", 0, "encoding", "неизвестная кодировка 'klingon'")
    ]


# --- nodename.doc: malformed ---------------------------------------------------------------------


def test_nodename_every_bad_line_is_reported() -> None:
    good = nodename_line("Координатор ЦОД", "1", "S", "000007C400010000", "07C40001")
    lines = [
        good,
        good[:75],  # truncated inside the ID
        nodename_line("АРМ 1", "1", "A", "000007C400010001", "07C4000G"),  # bad hex ID
        nodename_line("АРМ 2", "1", "X", "000007C400010002", "07C40003"),  # unknown category
        nodename_line("АРМ 3", "2", "A", "000007C40001000Z", "07C40004"),  # enabled, address
        "",  # blank lines are ignored
        nodename_line("АРМ 4", "1", "A", "000007C400010005", "07C40001"),  # duplicate ID
        nodename_line("x" * 51, "1", "A", "000007C400010006", "07C40006")[:80],  # misaligned
        "АРМ 5",  # cut in the name
        good + " лишнее",
    ]
    payload = "\r\n".join(lines).encode("cp866")
    with pytest.raises(ImportFailed) as exc:
        parse_nodename(payload, "bad.doc")
    assert errors_of(exc) == [
        (2, "id"),
        (3, "id"),
        (4, "category"),
        (5, "address"),
        (5, "enabled"),
        (7, "id"),
        (8, "name"),
        (9, "name"),
        (10, "id"),
    ]
    reasons = {(e.row, e.column): e.reason for e in exc.value.errors}
    assert all(e.file == "bad.doc" for e in exc.value.errors)
    assert reasons[2, "id"] == (
        "строка обрывается на 75-м символе (в поле id): ожидается 80 символов"
    )
    assert reasons[3, "id"].startswith("неверный идентификатор ViPNet '07C4000G'")
    assert reasons[4, "category"].startswith("неизвестная категория 'X'")
    assert reasons[5, "enabled"] == "ожидается 1 или 0, найдено '2'"
    assert "000007C40001000Z" in reasons[5, "address"]
    assert reasons[7, "id"] == "идентификатор 0x07c40001 повторяется (впервые в строке 1)"
    assert reasons[8, "name"].startswith("в позиции 51 ожидается пробел, найдено 'x'")
    assert "(в поле name)" in reasons[9, "name"]
    assert reasons[10, "id"] == "лишние символы после идентификатора: ' лишнее'"


def test_nodename_errors_in_english() -> None:
    payload = nodename_line("a", "1", "Q", "000007C400010000", "07C40001").encode("cp866")
    with pytest.raises(ImportFailed) as exc:
        parse_nodename(payload, "bad.doc", locale="en")
    assert str(exc.value.errors[0]) == (
        "bad.doc:1: category: unknown category 'Q': expected A (client), S (coordinator) "
        "or G (group)"
    )


def test_nodename_empty_and_groups_only() -> None:
    with pytest.raises(ImportFailed) as exc:
        parse_nodename(b"\r\n", "empty.doc")
    assert str(exc.value.errors[0]) == "empty.doc:0: -: файл пуст"
    group = nodename_line("Вся сеть", "1", "G", "C00007C400000000", "07C40000")
    with pytest.raises(ImportFailed) as exc:
        parse_nodename(group.encode("cp866"), "groups.doc")
    assert "только группы" in exc.value.errors[0].reason


# --- iplir.conf: malformed -----------------------------------------------------------------------

BAD_IPLIR = """\
key= before any section
[id]
id= 0x07c4zz01
name= Плохой ID
[id]
name= Без идентификатора
[id]
id= 0x07c40002
ip= 192.0.2.300
port= 99999
usefirewall= maybe
tunnel= 192.0.2.1 to 192.0.2.2
name= Узел
name= Узел ещё раз
[id]
id= 0x07c40003
this line has no equals sign
[id
[id]
id= 0x07c40004
[id]
id= 0x07c40005
name= Хороший
[id]
id= 0x07C40005
name= Повтор
[servers]
server= 0xnothex, кто-то
"""


def test_iplir_every_bad_line_is_reported() -> None:
    with pytest.raises(ImportFailed) as exc:
        parse_iplir(BAD_IPLIR.encode("koi8-r"), "bad.conf")
    assert errors_of(exc) == [
        (1, "key"),
        (3, "id"),
        (5, "id"),
        (9, "ip"),
        (10, "port"),
        (11, "usefirewall"),
        (12, "tunnel"),
        (14, "name"),
        (15, "name"),
        (17, "-"),
        (18, "section"),
        (19, "name"),
        (24, "id"),
        (28, "server"),
    ]
    reasons = {(e.row, e.column): e.reason for e in exc.value.errors}
    assert reasons[1, "key"].startswith("строка вне секции")
    assert reasons[3, "id"].startswith("неверный идентификатор ViPNet '0x07c4zz01'")
    assert reasons[5, "id"] == "в секции [id] нет строки id= с идентификатором узла"
    assert reasons[9, "ip"] == "не IP-адрес: '192.0.2.300'"
    assert reasons[10, "port"].startswith("неверный порт '99999'")
    assert reasons[14, "name"] == "ключ name повторяется в секции (впервые в строке 13)"
    assert reasons[15, "name"] == "у узла 0x07c40003 нет строки name="
    assert reasons[17, "-"] == (
        "ожидается «ключ= значение», найдено 'this line has no equals sign'"
    )
    assert reasons[18, "section"].startswith("неверный заголовок секции '[id'")
    assert reasons[24, "id"] == "идентификатор 0x07c40005 повторяется (впервые в строке 21)"


def test_iplir_without_nodes() -> None:
    with pytest.raises(ImportFailed) as exc:
        parse_iplir(b"", "empty.conf")
    assert str(exc.value.errors[0]) == "empty.conf:0: -: файл пуст"
    only_filters = b"[id]\nid= 0xffffffff\nname= Encrypted broadcasts\n[misc]\nx= 1\n"
    with pytest.raises(ImportFailed) as exc:
        parse_iplir(only_filters, "filters.conf")
    assert "нет ни одного узла" in exc.value.errors[0].reason


# --- robustness: damaged files fail with row errors, never with IndexError & co. ---------------


@pytest.mark.parametrize(
    ("name", "parse"),
    [("iplir03.conf", parse_iplir), ("nodename01.doc", parse_nodename)],
)
def test_damaged_samples_raise_only_import_failed(
    name: str, parse: Callable[[bytes, str], object]
) -> None:
    original = data(name)
    rng = random.Random(1988)
    damaged = [original[:cut] for cut in range(len(original))]
    for _ in range(300):
        raw = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        damaged.append(bytes(raw))
    failures: list[ImportFailed] = []
    for payload in damaged:
        try:
            parse(payload, name)
        except ImportFailed as exc:  # anything else fails the test
            failures.append(exc)
    assert failures
    for failure in failures:
        assert failure.errors
        assert all(isinstance(e, RowError) and e.file == name for e in failure.errors)
