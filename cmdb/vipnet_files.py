"""Readers of ViPNet files: a node's ``iplir.conf`` and the control center's ``nodename.doc``.

Both readers take the file's bytes and return frozen dataclasses; neither touches the database.
Every malformed line becomes a :class:`~cmdb.tabular.RowError` (file, 1-based line, field,
reason) and all of them are raised together as :class:`~cmdb.errors.ImportFailed`.

Encoding: the default is the one ViPNet writes (KOI8-R for ``iplir.conf``, CP866 for
``nodename.doc``); a file whose bytes are valid UTF-8 and contain Cyrillic is read as UTF-8; an
explicit ``encoding`` overrides both. The encoding used is reported on the result. A line that
does not decode, or that decodes to box-drawing or control characters (the usual sign of a
KOI8-R/CP866 mix-up), is an error that names the encoding that would read the file cleanly.

``iplir.conf`` rules:

* ``[name]`` starts a section, ``key= value`` lines belong to the section above them, lines
  starting with ``#`` or ``;`` are comments, blank lines are ignored;
* every ``[id]`` section is a node, except the special IDs ``0xffffffff`` (encrypted broadcasts)
  and ``0xfffffffe`` (main filter), which are filters (:class:`IplirFilter`);
* repeated keys are kept as lists (tuples) in file order; the typed single-value fields (``id``,
  ``name``, ``accessip``, ``firewallip``, ``port``, ``proxyid``, ``virtualip``, ``usefirewall``,
  ``version``) given twice in one section are an error;
* ``ip= REAL`` or, as ViPNet 4 writes it, ``ip= REAL, VIRTUAL``: :attr:`IplirNode.ip` lists the
  real addresses, :attr:`IplirNode.ip_virtual` the (real, virtual) pairs;
* ``[servers]`` lists the coordinators the node works through (``server= ID, name``);
* other sections (``[adapter]``, ``[misc]``, ``[virtualip]`` …) are kept as
  :class:`IplirSection` with their raw values.

``nodename.doc`` is fixed width (characters, after decoding)::

    name (50) ␠ enabled 1/0 ␠ category A/S/G ␠ 16 hex ␠ 8-hex ViPNet ID

The 16 hex digits are 8 hex (kept as :attr:`NodenameEntry.prefix`; the README does not name
them), 4 hex coordinator number and 4 hex client number. Category ``A`` is a client, ``S`` a
coordinator (server); ``G`` lines are groups, validated but not returned as nodes.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from cmdb.errors import ImportFailed
from cmdb.fields import FieldError, normalize_vipnet_id, vipnet_network_number
from cmdb.tabular import RowError

#: User-facing messages of this module: key → (Russian, English).
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "enc.unknown": ("неизвестная кодировка {encoding!r}", "unknown encoding {encoding!r}"),
    "enc.undecodable": (
        "не декодируется как {encoding}: байт 0x{byte:02x}{hint}",
        "cannot be decoded as {encoding}: byte 0x{byte:02x}{hint}",
    ),
    "enc.garbled": (
        "символ {char!r} (U+{code:04X}) — похоже, кодировка не {encoding}{hint}",
        "character {char!r} (U+{code:04X}) — the encoding is probably not {encoding}{hint}",
    ),
    "enc.hint": ("; попробуйте --encoding {encoding}", "; try --encoding {encoding}"),
    "file.empty": ("файл пуст", "the file is empty"),
    "file.no_nodes": (
        "в файле нет ни одного узла (секций [id] с идентификатором узла)",
        "the file has no nodes ([id] sections with a node ID)",
    ),
    "id.bad": (
        "неверный идентификатор ViPNet {value!r}: ожидается 8 шестнадцатеричных цифр "
        "(например 0x07c40001)",
        "bad ViPNet ID {value!r}: expected 8 hex digits (e.g. 0x07c40001)",
    ),
    "id.duplicate": (
        "идентификатор {value} повторяется (впервые в строке {first})",
        "ID {value} is repeated (first on line {first})",
    ),
    "ini.section": (
        "неверный заголовок секции {value!r}: ожидается [имя]",
        "bad section header {value!r}: expected [name]",
    ),
    "ini.no_section": (
        "строка вне секции: перед ней нет заголовка [id] или другой секции",
        "line outside any section: no [id] or other section header above it",
    ),
    "ini.not_key_value": (
        "ожидается «ключ= значение», найдено {value!r}",
        "expected 'key= value', found {value!r}",
    ),
    "ini.bad_key": ("недопустимое имя ключа {value!r}", "invalid key name {value!r}"),
    "ini.repeated": (
        "ключ {key} повторяется в секции (впервые в строке {first})",
        "key {key} is repeated in the section (first on line {first})",
    ),
    "ini.no_id": (
        "в секции [id] нет строки id= с идентификатором узла",
        "the [id] section has no id= line",
    ),
    "ini.no_name": ("у узла {value} нет строки name=", "node {value} has no name= line"),
    "val.empty_name": ("пустое имя узла", "the node name is empty"),
    "val.ip": ("не IP-адрес: {value!r}", "not an IP address: {value!r}"),
    "val.ip_pair": (
        "ожидается «АДРЕС» или «АДРЕС, ВИРТУАЛЬНЫЙ_АДРЕС», найдено {value!r}",
        "expected 'ADDRESS' or 'ADDRESS, VIRTUAL_ADDRESS', found {value!r}",
    ),
    "val.port": (
        "неверный порт {value!r}: ожидается целое от 0 до 65535",
        "bad port {value!r}: expected an integer 0-65535",
    ),
    "val.onoff": ("ожидается on или off, найдено {value!r}", "expected on or off, found {value!r}"),
    "val.tunnel": (
        "неверный туннель {value!r}: ожидается «A-B to C-D» (диапазоны IP-адресов)",
        "bad tunnel {value!r}: expected 'A-B to C-D' (IP address ranges)",
    ),
    "val.server": (
        "ожидается «server= ИДЕНТИФИКАТОР, имя», найдено {value!r}",
        "expected 'server= ID, name', found {value!r}",
    ),
    "nn.no_nodes": (
        "в файле нет ни одного узла (строк категорий A и S), только группы",
        "the file has no nodes (lines of category A or S), only groups",
    ),
    "nn.short": (
        "строка обрывается на {length}-м символе (в поле {field}): ожидается {width} символов",
        "the line ends after {length} characters (in field {field}): expected {width}",
    ),
    "nn.trailing": (
        "лишние символы после идентификатора: {value!r}",
        "unexpected characters after the ID: {value!r}",
    ),
    "nn.separator": (
        "в позиции {position} ожидается пробел, найдено {value!r} (поля сдвинуты: имя длиннее "
        "50 символов или не та кодировка?)",
        "expected a space at position {position}, found {value!r} (fields misaligned: a name "
        "longer than 50 characters or the wrong encoding?)",
    ),
    "nn.enabled": ("ожидается 1 или 0, найдено {value!r}", "expected 1 or 0, found {value!r}"),
    "nn.category": (
        "неизвестная категория {value!r}: ожидается A (клиент), S (координатор) или G (группа)",
        "unknown category {value!r}: expected A (client), S (coordinator) or G (group)",
    ),
    "nn.address": (
        "ожидается 16 шестнадцатеричных цифр (8 + номер координатора + номер клиента), "
        "найдено {value!r}",
        "expected 16 hex digits (8 + coordinator number + client number), found {value!r}",
    ),
}


def translate(
    catalog: Mapping[str, tuple[str, str]], locale: str, key: str, /, **params: Any
) -> str:
    """The message ``key`` of ``catalog`` in ``locale`` (English for ``en``, else Russian)."""
    ru, en = catalog[key]
    return (en if locale == "en" else ru).format(**params)


def _t(locale: str, key: str, /, **params: Any) -> str:
    return translate(MESSAGES, locale, key, **params)


#: Filters, not nodes: encrypted broadcasts and the main filter.
SPECIAL_IDS: Final = frozenset({"0xffffffff", "0xfffffffe"})
IPLIR_DEFAULT_ENCODING: Final = "koi8-r"
NODENAME_DEFAULT_ENCODING: Final = "cp866"
#: Encodings tried when suggesting a better ``--encoding``.
_CANDIDATES: Final = ("utf-8", "koi8-r", "cp866", "cp1251")
#: Any character but tab, printable ASCII, Cyrillic and a little typography: box drawing,
#: control characters and the like are what a KOI8-R/CP866 mix-up produces.
_ODD_RE: Final = re.compile("[^\t -~\u0400-\u04ff№«»—–…‘’“”„\u00a0]")


# --- results ---------------------------------------------------------------------------------


def _frozen(mapping: Mapping[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({key: tuple(values) for key, values in mapping.items()})


@dataclass(frozen=True)
class IplirNode:
    """One node of an ``iplir.conf`` (an ``[id]`` section with a real node ID)."""

    vipnet_id: str
    name: str
    line: int
    ip: tuple[str, ...] = ()
    ip_virtual: tuple[tuple[str, str], ...] = ()
    accessip: str | None = None
    firewallip: str | None = None
    port: int | None = None
    version: str | None = None
    tunnel: tuple[str, ...] = ()
    proxyid: str | None = None
    virtualip: str | None = None
    usefirewall: bool | None = None
    #: Every ``key= value`` of the section as written (repeated keys in file order).
    options: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False, repr=False
    )

    @property
    def network_number(self) -> int:
        """The ViPNet network the node belongs to (the first 4 hex digits of its ID)."""
        return vipnet_network_number(self.vipnet_id)


@dataclass(frozen=True)
class IplirFilter:
    """A filter section (``0xffffffff`` encrypted broadcasts, ``0xfffffffe`` main filter)."""

    vipnet_id: str
    name: str | None
    line: int
    options: Mapping[str, tuple[str, ...]] = field(hash=False, repr=False)

    def values(self, key: str) -> tuple[str, ...]:
        """Every value of ``key`` (e.g. ``filterudp``) in file order."""
        return self.options.get(key, ())


@dataclass(frozen=True)
class IplirSection:
    """Any other section (``[adapter]``, ``[misc]``, ``[servers]`` …), raw."""

    name: str
    line: int
    options: Mapping[str, tuple[str, ...]] = field(hash=False, repr=False)

    def values(self, key: str) -> tuple[str, ...]:
        """Every value of ``key`` in file order."""
        return self.options.get(key, ())


@dataclass(frozen=True)
class IplirConfig:
    """A parsed ``iplir.conf``."""

    source: str
    encoding: str
    nodes: tuple[IplirNode, ...]
    filters: tuple[IplirFilter, ...]
    sections: tuple[IplirSection, ...]
    #: IDs listed in ``[servers]``: the coordinators this node works through.
    servers: tuple[str, ...]

    @property
    def own_id(self) -> str | None:
        """The node the file belongs to: ViPNet writes its own ``[id]`` section first."""
        return self.nodes[0].vipnet_id if self.nodes else None

    def section(self, name: str) -> tuple[IplirSection, ...]:
        """Every section called ``name`` (there may be several, e.g. ``adapter``)."""
        return tuple(s for s in self.sections if s.name == name)


@dataclass(frozen=True)
class NodenameEntry:
    """One node line (category ``A`` or ``S``) of a ``nodename.doc``."""

    vipnet_id: str
    name: str
    enabled: bool
    category: str
    prefix: str
    coordinator_number: int
    client_number: int
    line: int

    @property
    def kind(self) -> str:
        """``coordinator`` for category S, ``client`` for A (the CMDB's VipnetNodeKind)."""
        return "coordinator" if self.category == "S" else "client"

    @property
    def network_number(self) -> int:
        """The ViPNet network the node belongs to (the first 4 hex digits of its ID)."""
        return vipnet_network_number(self.vipnet_id)


@dataclass(frozen=True)
class NodenameGroup:
    """A group line (category ``G``) of a ``nodename.doc``: not a node."""

    group_id: str
    name: str
    enabled: bool
    prefix: str
    line: int


class NodenameList(list[NodenameEntry]):
    """The nodes of a ``nodename.doc`` — a plain list — plus how the file was read."""

    def __init__(
        self,
        entries: Iterable[NodenameEntry],
        *,
        source: str,
        encoding: str,
        groups: Iterable[NodenameGroup] = (),
    ) -> None:
        super().__init__(entries)
        self.source = source
        self.encoding = encoding
        #: the group (category G) lines, which are not nodes
        self.groups = tuple(groups)


# --- decoding --------------------------------------------------------------------------------


def _has_cyrillic(text: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def _odd_char(text: str) -> str | None:
    """The first character no ViPNet file contains in its encoding (a mis-decoding sign)."""
    match = _ODD_RE.search(text)
    return match.group() if match else None


def _clean_in(data: bytes, encoding: str) -> bool:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return _has_cyrillic(text) and all(_odd_char(line) is None for line in text.splitlines())


def _hint(data: bytes, used: str, locale: str) -> str:
    for candidate in _CANDIDATES:
        if candidate != used and _clean_in(data, candidate):
            return _t(locale, "enc.hint", encoding=candidate)
    return ""


def _canonical(encoding: str) -> str:
    return codecs.lookup(encoding).name


def decode_lines(
    data: bytes,
    source: str,
    default: str,
    encoding: str | None,
    locale: str,
    *,
    skip: tuple[str, ...] = (),
) -> tuple[list[tuple[int, str]], str]:
    """Decode ``data`` into (line number, text) pairs without line ends; returns the encoding.

    Lines starting (after blanks) with one of ``skip`` are not checked for garbled characters.
    Raises :class:`ImportFailed` listing every line that does not decode cleanly.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        used = "utf-8" if encoding is None else encoding
    elif encoding is not None:
        used = encoding
    else:
        used = default
        try:
            if _has_cyrillic(data.decode("utf-8")):
                used = "utf-8"
        except UnicodeDecodeError:
            pass
    try:
        used = _canonical(used)
    except LookupError:
        raise ImportFailed(
            [RowError(source, 0, "encoding", _t(locale, "enc.unknown", encoding=used))]
        ) from None
    lines: list[tuple[int, str]] = []
    errors: list[RowError] = []
    hint: str | None = None
    for number, chunk in enumerate(data.split(b"\n"), start=1):
        raw = chunk.removesuffix(b"\r")
        try:
            text = raw.decode(used)
        except UnicodeDecodeError as exc:
            hint = _hint(data, used, locale) if hint is None else hint
            reason = _t(locale, "enc.undecodable", encoding=used, byte=raw[exc.start], hint=hint)
            errors.append(RowError(source, number, "encoding", reason))
            continue
        if not (skip and text.lstrip().startswith(skip)):
            odd = _odd_char(text)
            if odd is not None:
                hint = _hint(data, used, locale) if hint is None else hint
                reason = _t(
                    locale, "enc.garbled", char=odd, code=ord(odd), encoding=used, hint=hint
                )
                errors.append(RowError(source, number, "encoding", reason))
                continue
        lines.append((number, text))
    if errors:
        raise ImportFailed(errors)
    return lines, used


# --- iplir.conf ------------------------------------------------------------------------------

_SECTION_RE = re.compile(r"^\[([A-Za-z0-9_.\-]+)\]$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_TUNNEL_RE = re.compile(r"^(\S+?)-(\S+) to (\S+?)-(\S+)$")
#: Keys of a node section that hold one value.
_SINGLE_KEYS: Final = frozenset(
    {
        "id",
        "name",
        "accessip",
        "firewallip",
        "port",
        "proxyid",
        "virtualip",
        "usefirewall",
        "version",
    }
)


@dataclass
class _RawSection:
    name: str
    line: int
    entries: list[tuple[str, str, int]] = field(default_factory=list)  # key, value, line

    def grouped(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value, _line in self.entries:
            out.setdefault(key, []).append(value)
        return out


class _Errors:
    def __init__(self, source: str, locale: str) -> None:
        self.source = source
        self.locale = locale
        self.items: list[RowError] = []

    def add(self, line: int, column: str, key: str, /, **params: Any) -> None:
        self.items.append(RowError(self.source, line, column, _t(self.locale, key, **params)))

    def raise_if_any(self) -> None:
        if self.items:
            raise ImportFailed(sorted(self.items, key=lambda e: (e.row, e.column, e.reason)))


def _split_sections(lines: Iterable[tuple[int, str]], errors: _Errors) -> list[_RawSection]:
    sections: list[_RawSection] = []
    current: _RawSection | None = None
    for number, text in lines:
        stripped = text.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("["):
            match = _SECTION_RE.match(stripped)
            if match is None:
                errors.add(number, "section", "ini.section", value=stripped)
                # Its lines are skipped: they would only produce follow-up errors.
                current = _RawSection("?", number)
                sections.append(current)
                continue
            current = _RawSection(match.group(1).lower(), number)
            sections.append(current)
            continue
        key, eq, value = stripped.partition("=")
        key = key.strip()
        if not eq:
            errors.add(number, "-", "ini.not_key_value", value=stripped)
            continue
        if not _KEY_RE.match(key):
            errors.add(number, key or "-", "ini.bad_key", value=key)
            continue
        if current is None:
            errors.add(number, key, "ini.no_section")
            continue
        current.entries.append((key.lower(), value.strip(), number))
    return [s for s in sections if s.name != "?"]


def _check_ip(value: str, line: int, key: str, errors: _Errors) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        errors.add(line, key, "val.ip", value=value)
        return None


def _vipnet_id(value: str, line: int, key: str, errors: _Errors) -> str | None:
    try:
        return normalize_vipnet_id(value)
    except FieldError:
        errors.add(line, key, "id.bad", value=value)
        return None


def _id_section(section: _RawSection, errors: _Errors) -> IplirNode | IplirFilter | None:
    single: dict[str, tuple[str, int]] = {}
    for key, value, line in section.entries:
        if key not in _SINGLE_KEYS:
            continue
        if key in single:
            errors.add(line, key, "ini.repeated", key=key, first=single[key][1])
        else:
            single[key] = (value, line)
    if "id" not in single:
        errors.add(section.line, "id", "ini.no_id")
        return None
    raw_id, id_line = single["id"]
    vipnet_id = _vipnet_id(raw_id, id_line, "id", errors)
    if vipnet_id is None:
        return None
    options = _frozen(section.grouped())
    name_value = single.get("name")
    if vipnet_id in SPECIAL_IDS:
        name = name_value[0] if name_value else None
        return IplirFilter(vipnet_id, name or None, section.line, options)
    ok = True
    if name_value is None:
        errors.add(section.line, "name", "ini.no_name", value=vipnet_id)
        ok = False
    elif not name_value[0]:
        errors.add(name_value[1], "name", "val.empty_name")
        ok = False
    ips: list[str] = []
    pairs: list[tuple[str, str]] = []
    tunnels: list[str] = []
    for key, value, line in section.entries:
        if key == "ip":
            parts = [p.strip() for p in value.split(",")]
            if len(parts) > 2 or not all(parts):
                errors.add(line, key, "val.ip_pair", value=value)
                ok = False
                continue
            checked = [_check_ip(p, line, key, errors) for p in parts]
            if any(c is None for c in checked):
                ok = False
                continue
            ips.append(str(checked[0]))
            if len(checked) == 2:
                pairs.append((str(checked[0]), str(checked[1])))
        elif key == "tunnel":
            match = _TUNNEL_RE.match(value)
            if match is None or any(_quiet_ip(part) is None for part in match.groups()):
                errors.add(line, key, "val.tunnel", value=value)
                ok = False
                continue
            tunnels.append(value)
    addresses: dict[str, str | None] = {}
    for key in ("accessip", "firewallip", "virtualip"):
        if key in single:
            value, line = single[key]
            addresses[key] = _check_ip(value, line, key, errors)
            ok = ok and addresses[key] is not None
    port: int | None = None
    if "port" in single:
        value, line = single["port"]
        if re.fullmatch(r"[0-9]{1,5}", value) and int(value) <= 65535:
            port = int(value)
        else:
            errors.add(line, "port", "val.port", value=value)
            ok = False
    proxyid: str | None = None
    if "proxyid" in single:
        value, line = single["proxyid"]
        proxyid = _vipnet_id(value, line, "proxyid", errors)
        ok = ok and proxyid is not None
    usefirewall: bool | None = None
    if "usefirewall" in single:
        value, line = single["usefirewall"]
        if value.lower() in ("on", "off"):
            usefirewall = value.lower() == "on"
        else:
            errors.add(line, "usefirewall", "val.onoff", value=value)
            ok = False
    if not ok or name_value is None:
        return None
    version = single["version"][0] if "version" in single else None
    return IplirNode(
        vipnet_id=vipnet_id,
        name=name_value[0],
        line=section.line,
        ip=tuple(ips),
        ip_virtual=tuple(pairs),
        accessip=addresses.get("accessip"),
        firewallip=addresses.get("firewallip"),
        port=port,
        version=version or None,
        tunnel=tuple(tunnels),
        proxyid=proxyid,
        virtualip=addresses.get("virtualip"),
        usefirewall=usefirewall,
        options=options,
    )


def _quiet_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def parse_iplir(
    data: bytes, source: str, encoding: str | None = None, *, locale: str = "ru"
) -> IplirConfig:
    """Parse an ``iplir.conf``; raises :class:`ImportFailed` with every malformed line."""
    lines, used = decode_lines(
        data, source, IPLIR_DEFAULT_ENCODING, encoding, locale, skip=("#", ";")
    )
    errors = _Errors(source, locale)
    raw_sections = _split_sections(lines, errors)
    nodes: list[IplirNode] = []
    filters: list[IplirFilter] = []
    others: list[IplirSection] = []
    servers: list[str] = []
    seen: dict[str, int] = {}
    for section in raw_sections:
        if section.name != "id":
            others.append(IplirSection(section.name, section.line, _frozen(section.grouped())))
            if section.name == "servers":
                for key, value, line in section.entries:
                    if key != "server":
                        continue
                    head = value.split(",", 1)[0].strip()
                    if not head:
                        errors.add(line, key, "val.server", value=value)
                        continue
                    server_id = _vipnet_id(head, line, key, errors)
                    if server_id is not None:
                        servers.append(server_id)
            continue
        parsed = _id_section(section, errors)
        if parsed is None:
            continue
        if parsed.vipnet_id in seen:
            errors.add(
                parsed.line,
                "id",
                "id.duplicate",
                value=parsed.vipnet_id,
                first=seen[parsed.vipnet_id],
            )
            continue
        seen[parsed.vipnet_id] = parsed.line
        if isinstance(parsed, IplirFilter):
            filters.append(parsed)
        else:
            nodes.append(parsed)
    if not errors.items and not nodes:
        errors.add(0, "-", "file.empty" if not raw_sections else "file.no_nodes")
    errors.raise_if_any()
    return IplirConfig(
        source=source,
        encoding=used,
        nodes=tuple(nodes),
        filters=tuple(filters),
        sections=tuple(others),
        servers=tuple(servers),
    )


# --- nodename.doc ----------------------------------------------------------------------------

#: (field, start, end) of the fixed-width columns; single spaces separate them.
NODENAME_FIELDS: Final = (
    ("name", 0, 50),
    ("enabled", 51, 52),
    ("category", 53, 54),
    ("address", 55, 71),
    ("id", 72, 80),
)
NODENAME_WIDTH: Final = 80
_SEPARATORS: Final = ((50, "name"), (52, "enabled"), (54, "category"), (71, "address"))
_HEX_RE = re.compile(r"[0-9A-Fa-f]{16}")


def _field_at(position: int) -> str:
    """The field a line that ends at ``position`` (0-based) was cut in."""
    for name, _start, end in NODENAME_FIELDS:
        if position < end:
            return name
    return "id"


def _nodename_line(number: int, text: str, errors: _Errors) -> NodenameEntry | NodenameGroup | None:
    """A node entry, a group, or None after recording the line's errors."""
    line = text.rstrip()
    if len(line) < NODENAME_WIDTH:
        errors.add(
            number,
            _field_at(len(line)),
            "nn.short",
            length=len(line),
            field=_field_at(len(line)),
            width=NODENAME_WIDTH,
        )
        return None
    for position, field_name in _SEPARATORS:
        if line[position] != " ":
            # The fields after a misplaced separator are shifted: checking them is only noise.
            errors.add(
                number, field_name, "nn.separator", position=position + 1, value=line[position]
            )
            return None
    before = len(errors.items)
    if len(line) > NODENAME_WIDTH:
        errors.add(number, "id", "nn.trailing", value=line[NODENAME_WIDTH:])
    name = line[0:50].strip()
    enabled, category, address, raw_id = line[51], line[53], line[55:71], line[72:80]
    if enabled not in ("0", "1"):
        errors.add(number, "enabled", "nn.enabled", value=enabled)
    if category not in ("A", "S", "G"):
        errors.add(number, "category", "nn.category", value=category)
    if not _HEX_RE.fullmatch(address):
        errors.add(number, "address", "nn.address", value=address)
    vipnet_id = _vipnet_id(raw_id, number, "id", errors)
    if not name:
        errors.add(number, "name", "val.empty_name")
    if len(errors.items) > before or vipnet_id is None:
        return None
    if category == "G":
        return NodenameGroup(vipnet_id, name, enabled == "1", address[0:8].upper(), number)
    return NodenameEntry(
        vipnet_id=vipnet_id,
        name=name,
        enabled=enabled == "1",
        category=category,
        prefix=address[0:8].upper(),
        coordinator_number=int(address[8:12], 16),
        client_number=int(address[12:16], 16),
        line=number,
    )


def parse_nodename(
    data: bytes, source: str, encoding: str | None = None, *, locale: str = "ru"
) -> NodenameList:
    """Parse a ``nodename.doc``; raises :class:`ImportFailed` with every malformed line.

    Returns the nodes (categories A and S) as a :class:`NodenameList`, a list that also tells
    the encoding used and how many group lines were skipped.
    """
    lines, used = decode_lines(data, source, NODENAME_DEFAULT_ENCODING, encoding, locale)
    errors = _Errors(source, locale)
    entries: list[NodenameEntry] = []
    groups: list[NodenameGroup] = []
    seen: dict[str, int] = {}
    for number, text in _non_blank(lines):
        parsed = _nodename_line(number, text, errors)
        if parsed is None:
            continue
        if isinstance(parsed, NodenameGroup):
            groups.append(parsed)
            continue
        if parsed.vipnet_id in seen:
            errors.add(
                number, "id", "id.duplicate", value=parsed.vipnet_id, first=seen[parsed.vipnet_id]
            )
            continue
        seen[parsed.vipnet_id] = number
        entries.append(parsed)
    if not errors.items and not entries:
        errors.add(0, "-", "file.empty" if not groups else "nn.no_nodes")
    errors.raise_if_any()
    return NodenameList(entries, source=source, encoding=used, groups=groups)


def _non_blank(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    for number, text in lines:
        if text.strip():
            yield number, text
