"""``/map``: FAPs/FPs and data-center sites drawn as SVG from their coordinates, by state now.

Drawn on the server (no tiles, no external resources): an equirectangular projection scaled by
the cosine of the middle latitude, a light graticule, one marker per site (circle for a FAP/FP,
square for a data-center site) coloured by state, with its state as text in the tooltip and a
link to the site card. The legend counts sites per state, and sites in trouble are listed as
text below the map.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.auth import engine_of, require
from api.permissions import Permission
from api.routes.helpdesk import state_text
from api.web.common import language, render
from cmdb.helpdesk import LINK_BACKUP, SiteState, site_states
from cmdb.users import Principal

router = APIRouter(include_in_schema=False)

WIDTH: Final = 960
PAD: Final = 24
#: Drawing order and legend order: trouble is drawn last, on top.
STATES: Final = ("up", "unknown", "degraded", LINK_BACKUP, "down")
DC_KINDS: Final = frozenset({"dc_primary", "dc_reserve", "dc_test"})
#: Sites in trouble listed as text below the map, at most.
TROUBLE_LIST: Final = 300


@dataclass(frozen=True)
class Marker:
    site: SiteState
    x: float
    y: float
    dc: bool


@dataclass(frozen=True)
class Projection:
    """Degrees to SVG pixels over the sites' bounding box."""

    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    height: int

    @classmethod
    def around(cls, points: list[tuple[float, float]]) -> Projection:
        lats = [p[0] for p in points] or [44.0, 47.0]
        lons = [p[1] for p in points] or [37.0, 42.0]
        lat_min, lat_max = min(lats) - 0.1, max(lats) + 0.1
        lon_min, lon_max = min(lons) - 0.1, max(lons) + 0.1
        k = math.cos(math.radians((lat_min + lat_max) / 2))
        inner = WIDTH - 2 * PAD
        height = round(inner * (lat_max - lat_min) / ((lon_max - lon_min) * k)) + 2 * PAD
        return cls(lat_min, lat_max, lon_min, lon_max, max(200, min(height, 1400)))

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x = PAD + (lon - self.lon_min) / (self.lon_max - self.lon_min) * (WIDTH - 2 * PAD)
        y = PAD + (self.lat_max - lat) / (self.lat_max - self.lat_min) * (self.height - 2 * PAD)
        return round(x, 1), round(y, 1)

    def graticule(self) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
        """(x, label) of whole-degree meridians and (y, label) of parallels inside the box."""
        meridians = [
            (self.xy(self.lat_min, lon)[0], f"{lon}°E")
            for lon in range(math.ceil(self.lon_min), math.floor(self.lon_max) + 1)
        ]
        parallels = [
            (self.xy(lat, self.lon_min)[1], f"{lat}°N")
            for lat in range(math.ceil(self.lat_min), math.floor(self.lat_max) + 1)
        ]
        return meridians, parallels


@router.get("/map", response_class=HTMLResponse)
async def site_map(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.STATUS_READ, page=True))],
) -> HTMLResponse:
    lang = language(request, principal)
    sites = await run_in_threadpool(site_states, engine_of(request))
    placed = [s for s in sites if s.latitude is not None and s.longitude is not None]
    projection = Projection.around([(s.latitude or 0.0, s.longitude or 0.0) for s in placed])
    order = {state: i for i, state in enumerate(STATES)}
    markers = sorted(
        (Marker(s, *projection.xy(s.latitude or 0.0, s.longitude or 0.0), s.kind in DC_KINDS)
         for s in placed),
        key=lambda m: (m.dc, order.get(m.site.display, 0), m.site.code),
    )  # fmt: skip
    counts = Counter(s.display for s in sites)
    trouble = [s for s in sites if s.display in ("down", LINK_BACKUP, "degraded")]
    trouble.sort(key=lambda s: (-order.get(s.display, 0), s.code))
    meridians, parallels = projection.graticule()
    return render(
        request,
        "map/map.html",
        width=WIDTH,
        height=projection.height,
        markers=markers,
        meridians=meridians,
        parallels=parallels,
        states=STATES,
        counts=counts,
        total=len(sites),
        unplaced=[s for s in sites if s.latitude is None or s.longitude is None],
        trouble=trouble[:TROUBLE_LIST],
        trouble_total=len(trouble),
        state_text=lambda state: state_text(state, lang),
    )
