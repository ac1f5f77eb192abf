"""The provisioning gate: no run touches a host whose attestation or ViPNet keys have expired.

A host (a device or a workstation) is **refused** for each of these causes, on the region's
today:

* an expired attestation that covers it (only the newest certificate of each attested object
  counts, as in :mod:`cmdb.calendars`): scope ``regional_system`` covers every host; one naming a
  site covers that site's hosts; one naming only an organization covers the hosts at that
  organization's sites (``dc_segment``: its data-center sites only); a segment attestation naming
  neither covers every site of its kind (DC sites for ``dc_segment``, the others for
  ``mo_segment``). A host that no attestation covers is not refused for it;
* the expired key set (СКИ) or certificate of the host's own ViPNet node (enabled nodes only).

A refused host is **let through** when a live override covers every one of its causes: an
override names a host (``device``/``workstation``), its ``site``, or a cause (the
``attestation`` number, the ``vipnet_node`` ID). Live = not revoked and ``valid_until`` ahead.
Overrides are recorded by a user whose role is ``security_officer`` (who, why, until when), audited
(entity ``gate_override``), and every use by a run is journaled (``gate_override_use``).

Errors::

    KonturError
    ├── NotFound              no such override, or the overridden object is not in the CMDB
    └── OverrideRefused       approver not a security officer, empty reason, date not ahead
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, Engine, insert, select, update

from cmdb.audit import AuditBatch
from cmdb.calendars import EXPIRED, ExpiryKind, expiries
from cmdb.choices import AuditAction, Role
from cmdb.errors import KonturError, NotFound
from cmdb.i18n import fmt_date
from cmdb.models import (
    Attestation,
    Device,
    GateOverride,
    OverrideTarget,
    Site,
    VipnetNode,
    Workstation,
)
from cmdb.types import utcnow
from cmdb.users import role_of

logger = logging.getLogger(__name__)

OVERRIDE_ENTITY: Final = "gate_override"
USE_ENTITY: Final = "gate_override_use"
REASON_MAX: Final = 2000
DC_KINDS: Final = frozenset({"dc_primary", "dc_reserve", "dc_test"})

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "cause.attestation": (
        "истёк срок действия аттестата № {key} ({name}): действовал до {until}",
        "attestation No. {key} ({name}) expired: valid until {until}",
    ),
    "cause.vipnet_keys": (
        "истёк срок действия ключей (СКИ) узла ViPNet {key}: действовали до {until}",
        "the key set of ViPNet node {key} expired: valid until {until}",
    ),
    "cause.vipnet_certificate": (
        "истёк срок действия сертификата узла ViPNet {key}: действовал до {until}",
        "the certificate of ViPNet node {key} expired: valid until {until}",
    ),
    "err.not_officer": (
        "{user!r} не может разрешать исключения: нужна действующая учётная запись с ролью "
        "«специалист по защите информации» (security_officer)",
        "{user!r} cannot approve overrides: an active user with the security_officer role "
        "is required",
    ),
    "err.reason": (
        "укажите причину исключения (до {max} символов)",
        "give the reason for the override (up to {max} characters)",
    ),
    "err.until": (
        "срок действия исключения должен быть в будущем",
        "the override must be valid until a moment in the future",
    ),
}


def message(locale: str, key: str, /, **params: Any) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


class OverrideRefused(KonturError):
    """The override cannot be recorded (message key and parameters attached)."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(message("en", key, **params))

    def describe(self, locale: str) -> str:
        return message(locale, self.key, **self.params)


@dataclass(frozen=True, slots=True)
class Cause:
    """Why a host is refused: an expired attestation, ViPNet key set or certificate."""

    kind: ExpiryKind
    #: attestation number or ViPNet ID
    key: str
    name: str
    until: dt.date

    @property
    def override_target(self) -> tuple[str, str]:
        if self.kind is ExpiryKind.ATTESTATION:
            return OverrideTarget.ATTESTATION.value, self.key
        return OverrideTarget.VIPNET_NODE.value, self.key

    def text(self, locale: str = "ru") -> str:
        return message(
            locale,
            f"cause.{self.kind.value}",
            key=self.key,
            name=self.name,
            until=fmt_date(self.until, locale),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "cause": self.kind.value,
            "key": self.key,
            "until": self.until.isoformat(),
            "text": self.text("ru"),
        }


@dataclass(frozen=True, slots=True)
class HostRef:
    """A host of the inventory as a CMDB object."""

    host: str
    object_kind: str  # "device" or "workstation"
    site: str
    vipnet_id: str | None


@dataclass(frozen=True)
class Refusal:
    """A host the gate stops, with every cause; ``override_ids`` when overrides let it through."""

    ref: HostRef
    causes: tuple[Cause, ...]
    override_ids: tuple[int, ...] = ()

    def reasons(self, locale: str = "ru") -> list[str]:
        return [c.text(locale) for c in self.causes]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "host": self.ref.host,
            "object_kind": self.ref.object_kind,
            "object_key": self.ref.host,
            "site": self.ref.site,
            "reasons": [c.as_dict() for c in self.causes],
        }
        if self.override_ids:
            data["override_ids"] = list(self.override_ids)
        return data


@dataclass
class Decision:
    """The gate's verdict on a set of hosts."""

    allowed: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    #: refused hosts let through by overrides (their names are in ``allowed`` too)
    overridden: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class OverrideInfo:
    """A gate override as people see it."""

    id: int
    target_kind: str
    target_key: str
    reason: str
    approved_by: str
    valid_until: dt.datetime
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None

    def live(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.valid_until > now

    def audit_view(self) -> dict[str, Any]:
        return {
            "target_kind": self.target_kind,
            "target_key": self.target_key,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "valid_until": self.valid_until.isoformat(),
            "created_by": self.created_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_by": self.revoked_by,
        }


def _info(row: GateOverride) -> OverrideInfo:
    return OverrideInfo(
        row.id,
        row.target_kind,
        row.target_key,
        row.reason,
        row.approved_by,
        row.valid_until,
        row.created_by,
        row.created_at,
        row.revoked_at,
        row.revoked_by,
    )


# --- hosts and causes ------------------------------------------------------------------------


def host_refs(conn: Connection, hosts: Collection[str] | None = None) -> dict[str, HostRef]:
    """Every device and workstation (or those named ``hosts``) as :class:`HostRef`."""
    sites = {row.id: row.code for row in conn.execute(select(Site.id, Site.code))}
    nodes = {
        row.id: row.vipnet_id for row in conn.execute(select(VipnetNode.id, VipnetNode.vipnet_id))
    }
    node_of_device = {
        row.device_id: row.vipnet_id
        for row in conn.execute(
            select(VipnetNode.device_id, VipnetNode.vipnet_id).where(
                VipnetNode.device_id.is_not(None)
            )
        )
    }
    wanted = set(hosts) if hosts is not None else None
    refs: dict[str, HostRef] = {}
    for dev in conn.execute(select(Device.id, Device.name, Device.site_id)):
        if wanted is None or dev.name in wanted:
            refs[dev.name] = HostRef(
                dev.name, "device", sites[dev.site_id], node_of_device.get(dev.id)
            )
    for ws in conn.execute(
        select(Workstation.hostname, Workstation.site_id, Workstation.vipnet_node_id)
    ):
        if wanted is None or ws.hostname in wanted:
            node = nodes.get(ws.vipnet_node_id) if ws.vipnet_node_id is not None else None
            refs[ws.hostname] = HostRef(ws.hostname, "workstation", sites[ws.site_id], node)
    return refs


def _causes_by_site_and_node(
    engine: Engine, conn: Connection, today: dt.date
) -> tuple[list[Cause], dict[str, list[Cause]], dict[str, list[Cause]]]:
    """(causes for every host, causes per site code, causes per ViPNet ID) on ``today``."""
    everywhere: list[Cause] = []
    per_site: dict[str, list[Cause]] = defaultdict(list)
    per_node: dict[str, list[Cause]] = defaultdict(list)
    expired = [i for i in expiries(engine, today) if i.state == EXPIRED]
    numbers = [i.key for i in expired if i.kind is ExpiryKind.ATTESTATION]
    sites: Sequence[Any] = []
    scopes: dict[str, Any] = {}
    if numbers:
        sites = conn.execute(select(Site.id, Site.code, Site.kind, Site.organization_id)).all()
        scopes = {
            row.number: row
            for row in conn.execute(
                select(
                    Attestation.number,
                    Attestation.scope,
                    Attestation.site_id,
                    Attestation.organization_id,
                ).where(Attestation.number.in_(numbers))
            )
        }
    for item in expired:
        cause = Cause(item.kind, item.key, item.name, item.until)
        if item.kind is not ExpiryKind.ATTESTATION:
            per_node[item.key].append(cause)
            continue
        att = scopes[item.key]
        if att.scope == "regional_system":
            everywhere.append(cause)
            continue
        for site in sites:
            dc = site.kind in DC_KINDS
            if att.site_id is not None:
                covered = site.id == att.site_id
            elif att.organization_id is not None:
                covered = site.organization_id == att.organization_id and (
                    dc or att.scope != "dc_segment"
                )
            else:
                covered = dc == (att.scope == "dc_segment")
            if covered:
                per_site[site.code].append(cause)
    return everywhere, per_site, per_node


def _live_overrides(conn: Connection, now: dt.datetime) -> dict[tuple[str, str], int]:
    """(target kind, key) → id of a live override (the one lasting longest)."""
    found: dict[tuple[str, str], tuple[dt.datetime, int]] = {}
    rows = conn.execute(
        select(
            GateOverride.id, GateOverride.target_kind, GateOverride.target_key,
            GateOverride.valid_until,
        ).where(GateOverride.revoked_at.is_(None), GateOverride.valid_until > now)
    )  # fmt: skip
    for row in rows:
        target = (row.target_kind, row.target_key)
        if target not in found or row.valid_until > found[target][0]:
            found[target] = (row.valid_until, row.id)
    return {target: held[1] for target, held in found.items()}


def evaluate(
    engine: Engine,
    hosts: Iterable[str],
    *,
    today: dt.date,
    now: dt.datetime | None = None,
) -> Decision:
    """The gate's decision on ``hosts`` (inventory names; unknown names pass untouched)."""
    now = now or utcnow()
    names = list(dict.fromkeys(hosts))
    decision = Decision()
    with engine.connect() as conn:
        refs = host_refs(conn, names)
        everywhere, per_site, per_node = _causes_by_site_and_node(engine, conn, today)
        overrides = _live_overrides(conn, now)
    for host in names:
        ref = refs.get(host)
        if ref is None:
            decision.allowed.append(host)
            continue
        causes = [*everywhere, *per_site.get(ref.site, ())]
        if ref.vipnet_id is not None:
            causes.extend(per_node.get(ref.vipnet_id, ()))
        if not causes:
            decision.allowed.append(host)
            continue
        whole = overrides.get((ref.object_kind, host)) or overrides.get(("site", ref.site))
        used: list[int] = []
        if whole is not None:
            used.append(whole)
        else:
            for cause in causes:
                found = overrides.get(cause.override_target)
                if found is None:
                    used = []
                    break
                used.append(found)
        refusal = Refusal(ref, tuple(causes), tuple(dict.fromkeys(used)))
        if used:
            decision.allowed.append(host)
            decision.overridden.append(refusal)
        else:
            decision.refused.append(refusal)
    return decision


def journal_overrides(
    conn: Connection, run_id: int, overridden: Sequence[Refusal], actor: str
) -> None:
    """One audit entry per override a run used: which hosts it let through, for which causes."""
    per_override: dict[int, list[Refusal]] = defaultdict(list)
    for refusal in overridden:
        for override_id in refusal.override_ids:
            per_override[override_id].append(refusal)
    if not per_override:
        return
    approvers: dict[int, str] = {
        row.id: row.approved_by
        for row in conn.execute(
            select(GateOverride.id, GateOverride.approved_by).where(
                GateOverride.id.in_(list(per_override))
            )
        )
    }
    batch = AuditBatch(actor=actor, source=f"provision:run {run_id}")
    for override_id, refusals in sorted(per_override.items()):
        batch.add(
            AuditAction.CREATE,
            USE_ENTITY,
            f"{override_id}:run-{run_id}",
            None,
            {
                "override_id": override_id,
                "approved_by": approvers.get(override_id),
                "run_id": run_id,
                "hosts": [r.ref.host for r in refusals],
                "reasons": sorted({t for r in refusals for t in r.reasons("ru")}),
            },
        )
    batch.write(conn)


# --- overrides -------------------------------------------------------------------------------


def _target_exists(conn: Connection, kind: OverrideTarget, key: str) -> bool:
    column = {
        OverrideTarget.SITE: Site.code,
        OverrideTarget.DEVICE: Device.name,
        OverrideTarget.WORKSTATION: Workstation.hostname,
        OverrideTarget.VIPNET_NODE: VipnetNode.vipnet_id,
        OverrideTarget.ATTESTATION: Attestation.number,
    }[kind]
    return conn.scalar(select(column).where(column == key)) is not None


def add_override(
    engine: Engine,
    target_kind: OverrideTarget | str,
    target_key: str,
    *,
    reason: str,
    valid_until: dt.datetime,
    approved_by: str,
    actor: str,
    source: str = "cli",
) -> OverrideInfo:
    """Record an override approved by a security officer; audited. Nothing written on error."""
    kind = OverrideTarget(target_kind)
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise OverrideRefused("err.reason", max=REASON_MAX)
    now = utcnow()
    if valid_until.tzinfo is None or valid_until <= now:
        raise OverrideRefused("err.until")
    with engine.begin() as conn:
        if role_of(conn, approved_by) is not Role.SECURITY_OFFICER:
            raise OverrideRefused("err.not_officer", user=approved_by)
        if not _target_exists(conn, kind, target_key):
            raise NotFound(kind.value, target_key)
        new_id = conn.execute(
            insert(GateOverride)
            .values(
                target_kind=kind.value,
                target_key=target_key,
                reason=reason,
                approved_by=approved_by,
                valid_until=valid_until,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            .returning(GateOverride.id)
        ).scalar_one()
        info = _get(conn, new_id)
        batch = AuditBatch(actor=actor, source=source)
        batch.add(AuditAction.CREATE, OVERRIDE_ENTITY, str(new_id), None, info.audit_view())
        batch.write(conn)
    logger.info("gate override %s on %s %s approved by %s", new_id, kind, target_key, approved_by)
    return info


def _get(conn: Connection, override_id: int) -> OverrideInfo:
    from sqlalchemy.orm import Session

    with Session(bind=conn) as session:
        row = session.get(GateOverride, override_id)
        if row is None:
            raise NotFound(OVERRIDE_ENTITY, str(override_id))
        return _info(row)


def revoke_override(engine: Engine, override_id: int, *, actor: str, source: str = "cli") -> bool:
    """Revoke an override (audited); False if it was already revoked."""
    with engine.begin() as conn:
        before = _get(conn, override_id)
        if before.revoked_at is not None:
            return False
        conn.execute(
            update(GateOverride)
            .where(GateOverride.id == override_id)
            .values(revoked_at=utcnow(), revoked_by=actor, updated_at=utcnow())
        )
        after = _get(conn, override_id)
        batch = AuditBatch(actor=actor, source=source)
        batch.add(
            AuditAction.UPDATE,
            OVERRIDE_ENTITY,
            str(override_id),
            before.audit_view(),
            after.audit_view(),
        )
        batch.write(conn)
    return True


def list_overrides(
    engine: Engine, *, live_only: bool = False, now: dt.datetime | None = None
) -> list[OverrideInfo]:
    """Overrides, newest first (only live ones with ``live_only``)."""
    from sqlalchemy.orm import Session

    now = now or utcnow()
    with Session(engine) as session:
        rows = session.scalars(select(GateOverride).order_by(GateOverride.id.desc())).all()
        infos = [_info(row) for row in rows]
    return [i for i in infos if i.live(now)] if live_only else infos
