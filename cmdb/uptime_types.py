"""The data an uptime report carries: computed by ``cmdb.sla``, rendered by ``cmdb.reports``.

Seconds are floats (the ledger is stamped to the microsecond). Times are aware UTC; a report
also names the region's zone it was computed for (months are calendar months in that zone).
The definitions of every column are in ``docs/sla.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Seconds:
    """Where the time of an interval went, for one object or a group of objects."""

    up_s: float = 0.0
    down_s: float = 0.0
    degraded_s: float = 0.0
    unknown_s: float = 0.0
    maintenance_s: float = 0.0
    #: vantage points with data disagreed (some saw down, some up): counted up, shown apart
    disagreement_s: float = 0.0

    @property
    def period_s(self) -> float:
        """The whole interval (every second is in exactly one of the five states)."""
        return self.up_s + self.down_s + self.degraded_s + self.unknown_s + self.maintenance_s

    @property
    def sli(self) -> float | None:
        """up / (period − maintenance − unknown), as a fraction; None when nothing is known."""
        known = self.period_s - self.maintenance_s - self.unknown_s
        return self.up_s / known if known > 0 else None

    @property
    def sli_worst(self) -> float | None:
        """The same with unknown counted as down: up / (period − maintenance)."""
        base = self.period_s - self.maintenance_s
        return self.up_s / base if base > 0 else None

    @property
    def unknown_share(self) -> float | None:
        """unknown / (period − maintenance)."""
        base = self.period_s - self.maintenance_s
        return self.unknown_s / base if base > 0 else None


@dataclass(frozen=True)
class ObjectUptime:
    """One monitored object over [start, end)."""

    kind: str  # channel | site | device | vipnet_node | workstation
    key: str
    name: str | None
    seconds: Seconds
    site: str | None = None
    district: str | None = None
    organization: str | None = None
    sla_target_pct: Decimal | None = None  # channels

    @property
    def meets_target(self) -> bool | None:
        """SLI (as a percentage) reaches the channel's SLA target; None when either is unknown."""
        sli = self.seconds.sli
        if sli is None or self.sla_target_pct is None:
            return None
        return Decimal(str(round(sli * 100, 6))) >= self.sla_target_pct


@dataclass(frozen=True)
class GroupUptime:
    """Objects of one kind aggregated per site, organization, district or the region."""

    level: str  # site | organization | district | region
    key: str
    name: str
    kind: str
    objects: int
    seconds: Seconds


@dataclass(frozen=True)
class FailoverStats:
    """A site's redundancy group over the period."""

    site: str
    redundancy_group: str
    switches: int
    backup_s: float
    longest_backup_s: float
    last_backup_at: dt.datetime | None
    #: whole months since the backup last carried traffic (None: never seen on backup)
    months_without_exercise: int | None


@dataclass(frozen=True)
class UptimeReport:
    """Everything one uptime report shows."""

    start: dt.datetime
    end: dt.datetime
    zone: str
    label: str  # e.g. "2026-10" for a month, else "from–to"
    generated_at: dt.datetime
    objects: list[ObjectUptime] = field(default_factory=list)
    groups: list[GroupUptime] = field(default_factory=list)
    failovers: list[FailoverStats] = field(default_factory=list)
    #: outages per day (local date → number of transitions to down) for the charts
    outages_by_day: dict[dt.date, int] = field(default_factory=dict)
