"""Reconcile a ViPNet file (``iplir.conf`` or ``nodename.doc``) with the CMDB's ViPNet nodes.

:func:`reconcile` compares the nodes a file names with the ``vipnet_node`` rows of the same
network(s) and finds:

* **missing** — in the file, not in the CMDB (to be created);
* **changed** — in both, but a field the file states differs (name, kind, software version,
  enabled), with the value before (CMDB) and after (file);
* **extra** — in the CMDB for the file's network(s), not in the file. They are only reported,
  never deleted: an ``iplir.conf`` lists only the nodes its own node is linked with, and even a
  ``nodename.doc`` export is no proof that a node should leave the CMDB.

Every network a file refers to (the first four hex digits of its node IDs) must already be in the
CMDB; otherwise the whole file is refused, naming the network in hex and decimal.

:func:`apply` writes missing and changed nodes through :func:`cmdb.importer.import_records`
(kind ``vipnet-nodes``, source = the file), so validation and the audit journal are exactly
those of every other import, and re-applying the same file changes nothing.

What each file states:

========================  ==========================================================
``nodename.doc``          name; kind (category S → coordinator, A → client); enabled (1/0)
``iplir.conf``            name; software version (``version=``, when present)
========================  ==========================================================

``iplir.conf`` does not state a node's kind reliably, so it never changes the kind of a node the
CMDB has. A node it adds is created as a *coordinator* when the file itself marks it as one —
its ID is listed in ``[servers]`` (the coordinators the file's node works through) or its section
has ``tunnel=`` lines (only coordinators tunnel) — and as a *client* otherwise. It is created
enabled, since ``iplir.conf`` has no such flag; an existing node's ``enabled`` is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy import Engine, select

from cmdb.errors import ImportFailed
from cmdb.fields import vipnet_network_number
from cmdb.importer import ImportResult, import_records
from cmdb.models import VipnetNetwork, VipnetNode
from cmdb.tabular import RowError
from cmdb.vipnet_files import IplirConfig, NodenameEntry, translate

#: User-facing messages of this module: key → (Russian, English).
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "net.unknown": (
        "сеть ViPNet {hex} ({number}) узла {node} отсутствует в CMDB; сначала заведите её "
        "(kontur import vipnet-networks)",
        "ViPNet network {hex} ({number}) of node {node} is not in the CMDB; add it first "
        "(kontur import vipnet-networks)",
    ),
}

#: The vipnet_node columns a reconciliation compares, in report order.
COMPARED: Final = ("name", "kind", "software_version", "enabled")
#: Values of a node the file does not state, when the node is created.
_CREATE_DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType(
    {"kind": "client", "software_version": None, "enabled": True}
)
IMPORT_KIND: Final = "vipnet-nodes"


def network_label(number: int) -> str:
    """``0x07C4`` for network 1988 (the form ViPNet IDs start with)."""
    return f"0x{number:04X}"


@dataclass(frozen=True)
class FileNode:
    """What a file says about one node, in CMDB terms."""

    vipnet_id: str
    line: int
    #: CMDB columns (of :data:`COMPARED`) the file states, and their values.
    stated: Mapping[str, Any] = field(hash=False)
    #: Values used only when the node is created (e.g. the kind guessed from ``iplir.conf``).
    create: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def name(self) -> str:
        return str(self.stated["name"])

    @property
    def network_number(self) -> int:
        return vipnet_network_number(self.vipnet_id)


def iplir_kind(config: IplirConfig, vipnet_id: str) -> str:
    """The kind a node new to the CMDB gets from ``iplir.conf`` (see the module docstring)."""
    node = next((n for n in config.nodes if n.vipnet_id == vipnet_id), None)
    if vipnet_id in config.servers or (node is not None and node.tunnel):
        return "coordinator"
    return "client"


def nodes_from_iplir(config: IplirConfig) -> list[FileNode]:
    """The file nodes of a parsed ``iplir.conf`` (filters are not nodes)."""
    out: list[FileNode] = []
    for node in config.nodes:
        stated: dict[str, Any] = {"name": node.name}
        if node.version is not None:
            stated["software_version"] = node.version
        create = {"kind": iplir_kind(config, node.vipnet_id), "enabled": True}
        out.append(FileNode(node.vipnet_id, node.line, stated, create))
    return out


def nodes_from_nodename(entries: Iterable[NodenameEntry]) -> list[FileNode]:
    """The file nodes of a parsed ``nodename.doc`` (groups are not nodes)."""
    return [
        FileNode(
            entry.vipnet_id,
            entry.line,
            {"name": entry.name, "kind": entry.kind, "enabled": entry.enabled},
        )
        for entry in entries
    ]


@dataclass(frozen=True)
class FieldChange:
    """One field of one node: the CMDB value and the file's value."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ChangedNode:
    """A node in both, with the fields that differ."""

    vipnet_id: str
    name: str
    line: int
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class MissingNode:
    """A node in the file, not in the CMDB, with the values it would be created with."""

    vipnet_id: str
    name: str
    line: int
    values: Mapping[str, Any] = field(hash=False)


@dataclass(frozen=True)
class ExtraNode:
    """A node in the CMDB (in one of the file's networks), not in the file."""

    vipnet_id: str
    name: str
    kind: str


@dataclass(frozen=True)
class Reconciliation:
    """The differences between one file and the CMDB, and the records that would fix them."""

    source: str
    file_format: str
    encoding: str
    networks: tuple[int, ...]
    file_nodes: int
    cmdb_nodes: int
    missing: tuple[MissingNode, ...]
    changed: tuple[ChangedNode, ...]
    extra: tuple[ExtraNode, ...]
    unchanged: int
    #: ``vipnet-nodes`` records (missing and changed nodes) for the importer, in file order
    records: tuple[Mapping[str, Any], ...] = field(hash=False)
    #: the file line of each record, to point the importer's errors at the file
    record_lines: tuple[int, ...] = ()

    @property
    def has_changes(self) -> bool:
        """True when applying would write something."""
        return bool(self.records)


def reconcile(
    engine: Engine,
    source: str,
    nodes: Sequence[FileNode],
    *,
    file_format: str,
    encoding: str,
    locale: str = "ru",
) -> Reconciliation:
    """Compare ``nodes`` (read from ``source``) with the CMDB; reads only.

    Raises :class:`ImportFailed` when the file refers to a network the CMDB does not have.
    """
    first_line: dict[int, FileNode] = {}
    for node in sorted(nodes, key=lambda n: n.line):
        first_line.setdefault(node.network_number, node)
    with engine.connect() as conn:
        network_ids = {
            number: ident
            for ident, number in conn.execute(
                select(VipnetNetwork.id, VipnetNetwork.number).where(
                    VipnetNetwork.number.in_(list(first_line))
                )
            )
        }
        unknown = [n for n in first_line if n not in network_ids]
        if unknown:
            raise ImportFailed(
                [
                    RowError(
                        source,
                        first_line[number].line,
                        "id",
                        translate(
                            MESSAGES,
                            locale,
                            "net.unknown",
                            hex=network_label(number),
                            number=number,
                            node=first_line[number].vipnet_id,
                        ),
                    )
                    for number in sorted(unknown, key=lambda n: first_line[n].line)
                ]
            )
        rows = conn.execute(
            select(
                VipnetNode.vipnet_id,
                VipnetNode.name,
                VipnetNode.kind,
                VipnetNode.software_version,
                VipnetNode.enabled,
            ).where(VipnetNode.network_id.in_(list(network_ids.values())))
        ).all()
    current: dict[str, dict[str, Any]] = {
        row.vipnet_id: {
            "name": row.name,
            "kind": row.kind,
            "software_version": row.software_version,
            "enabled": bool(row.enabled),
        }
        for row in rows
    }
    missing: list[MissingNode] = []
    changed: list[ChangedNode] = []
    records: list[tuple[int, dict[str, Any]]] = []
    unchanged = 0
    in_file: set[str] = set()
    for node in sorted(nodes, key=lambda n: n.line):
        in_file.add(node.vipnet_id)
        old = current.get(node.vipnet_id)
        if old is None:
            values = {**_CREATE_DEFAULTS, **node.create, **node.stated}
            record = {"vipnet_id": node.vipnet_id, **{c: values[c] for c in COMPARED}}
            missing.append(MissingNode(node.vipnet_id, node.name, node.line, record))
            records.append((node.line, record))
            continue
        changes = tuple(
            FieldChange(column, old[column], node.stated[column])
            for column in COMPARED
            if column in node.stated and old[column] != node.stated[column]
        )
        if not changes:
            unchanged += 1
            continue
        changed.append(ChangedNode(node.vipnet_id, node.name, node.line, changes))
        merged = {**old, **node.stated}
        records.append((node.line, {"vipnet_id": node.vipnet_id, **merged}))
    extra = tuple(
        ExtraNode(vipnet_id, values["name"], values["kind"])
        for vipnet_id, values in sorted(current.items())
        if vipnet_id not in in_file
    )
    return Reconciliation(
        source=source,
        file_format=file_format,
        encoding=encoding,
        networks=tuple(sorted(first_line)),
        file_nodes=len(nodes),
        cmdb_nodes=len(current),
        missing=tuple(missing),
        changed=tuple(changed),
        extra=extra,
        unchanged=unchanged,
        records=tuple(MappingProxyType(r) for _line, r in records),
        record_lines=tuple(line for line, _r in records),
    )


def apply(
    engine: Engine,
    reconciliation: Reconciliation,
    *,
    actor: str,
    zone: dt.tzinfo,
    locale: str = "ru",
    dry_run: bool = False,
) -> ImportResult | None:
    """Create the missing and update the changed nodes through the importer; None if none.

    Extra nodes are never deleted. On validation errors the importer writes nothing and
    :class:`ImportFailed` is raised with the errors pointing at the file's lines.
    """
    if not reconciliation.records:
        return None
    try:
        return import_records(
            engine,
            IMPORT_KIND,
            [dict(r) for r in reconciliation.records],
            source=reconciliation.source,
            actor=actor,
            zone=zone,
            locale=locale,
            dry_run=dry_run,
        )
    except ImportFailed as exc:
        raise ImportFailed([_to_file_line(e, reconciliation) for e in exc.errors]) from exc


def _to_file_line(error: RowError, reconciliation: Reconciliation) -> RowError:
    """The importer numbers records as spreadsheet rows (first record = 2): use file lines."""
    index = error.row - 2
    if 0 <= index < len(reconciliation.record_lines):
        return RowError(error.file, reconciliation.record_lines[index], error.column, error.reason)
    return error
