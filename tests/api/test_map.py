"""The map page: FAPs and DC sites drawn from coordinates, by state, with no external resource."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.web.map import Projection
from cmdb.choices import Role
from cmdb.users import create_user
from tests.api.test_helpdesk import cut_primary
from tests.api_fixtures import PASSWORD, login
from tests.factories import load, make_world


@pytest.mark.backend_neutral
def test_projection_puts_north_up_and_east_right() -> None:
    proj = Projection.around([(44.5, 37.6), (46.5, 41.4)])
    north, south = proj.xy(46.5, 39.0), proj.xy(44.5, 39.0)
    west, east = proj.xy(45.0, 37.6), proj.xy(45.0, 41.4)
    assert north[1] < south[1]
    assert west[0] < east[0]


def test_map_draws_faps_and_dcs_by_state_with_links(engine: Engine, client: TestClient) -> None:
    make_world(engine)
    load(engine, "sites", [
        {"code": "DC-PRIMARY", "name": "Основной РИР", "kind": "dc_primary",
         "latitude": 45.04, "longitude": 38.98},
        {"code": "FAP-0002", "name": "ФАП без координат", "kind": "fap", "district": "23-R01",
         "organization": "MO-1"},
    ])  # fmt: skip
    cut_primary(engine, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    create_user(engine, "viewer", Role.PROJECT_OFFICE.value, password=PASSWORD, actor="tester")
    login(client, "viewer")
    page = client.get("/map")
    assert page.status_code == 200
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    fap = re.search(
        r'<a href="/helpdesk/sites/FAP-0001" id="site-FAP-0001" data-state="(\w+)"', svg
    )
    assert fap is not None
    assert fap.group(1) == "backup"
    assert "FAP-0001 — ФАП хутор Первый: на резервном канале" in svg  # the tooltip says it
    assert re.search(r'id="site-DC-PRIMARY" data-state="unknown"', svg)
    assert '<rect class="map-site map-dc st-unknown"' in svg
    assert "MO-1-M" not in svg  # MO buildings are not on this map
    assert "FAP-0002" not in svg  # no coordinates, nothing to draw ...
    assert "Без координат: 1." in page.text  # ... but counted
    legend = re.sub(r"\s+", " ", page.text)
    assert "на резервном канале: 1" in legend
    assert "нет данных: 2" in legend
    assert 'href="/helpdesk/sites/FAP-0001">FAP-0001</a>' in page.text  # listed as text too
    # nothing outside the page's own origin: no tiles, fonts or scripts from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
