"""Poll plans per platform, loaded from the packaged ``profiles.yml`` and an optional site override.

A plan says which OIDs to GET for a device of a platform (``cmdb.platforms.PLATFORMS`` keys):
sysUpTime always, CPU and memory where the platform has them, named extra values, and the IF-MIB
columns for interfaces. The packaged file is read with :mod:`importlib.resources`; an override file
of the same shape replaces whole sections per platform (e.g. the ViPNet placeholder OIDs). Both are
validated at load: any mistake raises :class:`SnmpConfigError` naming the file, the platform, the
field and the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from cmdb.platforms import PLATFORMS, valid_platforms
from collectors.snmp.ber import normalize_oid
from collectors.snmp.errors import SnmpConfigError

logger = logging.getLogger(__name__)

SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"
PACKAGED_FILE: Final = "profiles.yml"
DEFAULT_PLATFORM: Final = "generic_snmp"


def _oid(value: str) -> str:
    try:
        return normalize_oid(value)
    except SnmpConfigError as exc:
        raise ValueError(str(exc)) from None


Oid = Annotated[str, AfterValidator(_oid)]
ExtraName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InterfaceOids(_Model):
    """The IF-MIB columns a plan uses (instance = ifIndex)."""

    if_name: Oid = "1.3.6.1.2.1.31.1.1.1.1"
    if_descr: Oid = "1.3.6.1.2.1.2.2.1.2"
    oper_status: Oid = "1.3.6.1.2.1.2.2.1.8"
    in_octets_hc: Oid = "1.3.6.1.2.1.31.1.1.1.6"
    out_octets_hc: Oid = "1.3.6.1.2.1.31.1.1.1.10"
    in_octets: Oid = "1.3.6.1.2.1.2.2.1.10"
    out_octets: Oid = "1.3.6.1.2.1.2.2.1.16"


class CpuSpec(_Model):
    """CPU load: a scalar percentage, or a per-CPU table column aggregated."""

    oid: Oid | None = None
    table: Oid | None = None
    meaning: Literal["busy", "idle"] = "busy"
    aggregate: Literal["mean", "max"] = "mean"

    @model_validator(mode="after")
    def _one_source(self) -> CpuSpec:
        if (self.oid is None) == (self.table is None):
            raise ValueError("give exactly one of oid (a scalar) or table (a column)")
        return self


_MEMORY_SHAPES: Final = (
    frozenset({"total", "available"}),
    frozenset({"total", "used"}),
    frozenset({"used", "free"}),
    frozenset({"used_pct"}),
)


class MemorySpec(_Model):
    """Memory use: one of the OID pairs (units cancel out) or a ready percentage."""

    total: Oid | None = None
    available: Oid | None = None
    used: Oid | None = None
    free: Oid | None = None
    used_pct: Oid | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> MemorySpec:
        given = frozenset(k for k in type(self).model_fields if getattr(self, k) is not None)
        if given not in _MEMORY_SHAPES:
            raise ValueError(
                "give exactly one of {total, available}, {total, used}, {used, free} or {used_pct}"
                f" (got {sorted(given) or 'nothing'})"
            )
        return self

    def oids(self) -> tuple[str, ...]:
        """The OIDs to GET, in field order."""
        values = (self.total, self.available, self.used, self.free, self.used_pct)
        return tuple(v for v in values if v is not None)


class _PlatformSection(_Model):
    cpu: CpuSpec | None = None
    memory: MemorySpec | None = None
    extra: dict[ExtraName, Oid] = Field(default_factory=dict)
    interfaces: InterfaceOids | None = None
    placeholder: bool = False


class _Defaults(_Model):
    interfaces: InterfaceOids = InterfaceOids()


class _ProfilesFile(_Model):
    version: Literal[1]
    defaults: _Defaults = _Defaults()
    platforms: dict[str, _PlatformSection] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PollPlan:
    """What to poll on a device of one platform."""

    platform: str
    cpu: CpuSpec | None
    memory: MemorySpec | None
    extra: Mapping[str, str]
    interfaces: InterfaceOids
    placeholder: bool

    def scalar_oids(self) -> tuple[str, ...]:
        """sysUpTime, a scalar CPU OID, the memory OIDs and the extras, without duplicates."""
        oids = [SYS_UPTIME]
        if self.cpu is not None and self.cpu.oid is not None:
            oids.append(self.cpu.oid)
        if self.memory is not None:
            oids.extend(self.memory.oids())
        oids.extend(self.extra.values())
        return tuple(dict.fromkeys(oids))


class PollProfiles:
    """Poll plans by platform key; unknown keys raise SnmpConfigError listing the valid ones."""

    def __init__(self, plans: Mapping[str, PollPlan], sources: tuple[str, ...]) -> None:
        self._plans = dict(plans)
        self.sources = sources

    def plan(self, platform: str) -> PollPlan:
        """The plan for ``platform``; platforms without their own plan get generic_snmp's."""
        plan = self._plans.get(platform)
        if plan is not None:
            return plan
        if platform not in PLATFORMS:
            raise SnmpConfigError(f"unknown platform {platform!r}; valid: {valid_platforms()}")
        return self._plans[DEFAULT_PLATFORM]

    def platforms(self) -> tuple[str, ...]:
        """The platforms with a plan of their own."""
        return tuple(sorted(self._plans))


def _read(source: str, text: str) -> _ProfilesFile:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SnmpConfigError(f"{source}: not valid YAML{where}") from exc
    if not isinstance(document, dict):
        raise SnmpConfigError(f"{source}: expected a mapping with 'version' and 'platforms'")
    try:
        parsed = _ProfilesFile.model_validate(document)
    except ValidationError as exc:
        raise SnmpConfigError(f"{source}: {_describe(exc)}") from None
    unknown = sorted(set(parsed.platforms) - set(PLATFORMS))
    if unknown:
        raise SnmpConfigError(
            f"{source}: platform {unknown[0]!r}: unknown platform; valid: {valid_platforms()}"
        )
    return parsed


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc: list[Any] = list(err["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "platforms":
            where = f"platform {loc[1]!r}: "
            loc = loc[2:]
        field = ".".join(str(p) for p in loc if not str(p).startswith("function-"))
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}{field or 'value'}: {message}")
    return "; ".join(parts)


def load_profiles(override: Path | None = None) -> PollProfiles:
    """The packaged plans, with ``override``'s platform sections replacing theirs when given."""
    packaged_name = f"collectors.snmp/{PACKAGED_FILE}"
    packaged = _read(
        packaged_name,
        resources.files("collectors.snmp").joinpath(PACKAGED_FILE).read_text(encoding="utf-8"),
    )
    sections = dict(packaged.platforms)
    defaults = packaged.defaults
    sources = [packaged_name]
    if override is not None:
        try:
            text = override.read_text(encoding="utf-8")
        except OSError as exc:
            raise SnmpConfigError(f"{override}: cannot read poll profiles: {exc.strerror}") from exc
        extra = _read(str(override), text)
        if "defaults" in extra.model_fields_set:
            defaults = extra.defaults
        for name, section in extra.platforms.items():
            base = sections.get(name, _PlatformSection())
            update = {k: getattr(section, k) for k in section.model_fields_set}
            update["placeholder"] = section.placeholder  # an override is real unless it says so
            sections[name] = base.model_copy(update=update)
        sources.append(str(override))
    if DEFAULT_PLATFORM not in sections:
        sections[DEFAULT_PLATFORM] = _PlatformSection()
    plans = {
        name: PollPlan(
            platform=name,
            cpu=s.cpu,
            memory=s.memory,
            extra=dict(s.extra),
            interfaces=s.interfaces or defaults.interfaces,
            placeholder=s.placeholder,
        )
        for name, s in sections.items()
    }
    for plan in plans.values():
        if plan.placeholder:
            logger.warning(
                "SNMP poll plan %r uses placeholder OIDs; override them with the device's own",
                plan.platform,
            )
    return PollProfiles(plans, tuple(sources))
