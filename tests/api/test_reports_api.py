"""The reports API as a client uses it: uptime report, control-point schedule, evidence,
indicators."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from api.auth import CSRF_HEADER
from api.routes.reports import previous_month
from cmdb.bulk import bulk_insert
from cmdb.choices import Role
from cmdb.models import AuditEntry, ControlPointEvidence, StatusTransition
from tests.api_fixtures import login
from tests.factories import control_point, load, make_world

MSK = ZoneInfo("Europe/Moscow")
OCTOBER = 31 * 86400


def msk(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, minute, tzinfo=MSK).astimezone(dt.UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_outage(engine: Engine, key: str, start: dt.datetime, end: dt.datetime) -> None:
    """A channel up since September, down over [start, end) as both collectors saw it."""
    rows = []
    for vantage in ("dc-primary", "dc-reserve"):
        rows += [
            (vantage, dt.datetime(2026, 9, 15, tzinfo=dt.UTC), "up"),
            (vantage, start, "down"),
            (vantage, end, "up"),
        ]
    with engine.begin() as conn:
        bulk_insert(conn, StatusTransition.__table__, [  # type: ignore[arg-type]
            {"object_kind": "channel", "object_key": key, "vantage": vantage, "at": when,
             "state": state, "previous": None, "reason": "test", "source": "test"}
            for vantage, when, state in rows
        ])  # fmt: skip


@pytest.fixture
def world(engine: Engine) -> Engine:
    """The factory region with a one-hour October outage of CH-FAP-0001-1."""
    make_world(engine)
    add_outage(engine, "CH-FAP-0001-1", msk(5, 10), msk(5, 11))
    return engine


def test_uptime_json_is_the_cli_document_for_the_month(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/reports/uptime?month=2026-10", headers=bearer(tokens[Role.PROJECT_OFFICE])
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["period"]["label"] == "2026-10"
    assert report["period"]["start"] == "2026-10-01T00:00:00+03:00"
    assert report["period"]["seconds"] == OCTOBER
    first = next(o for o in report["objects"] if o["key"] == "CH-FAP-0001-1")
    assert first["down_s"] == 3600
    assert first["sli"] == (OCTOBER - 3600) / OCTOBER
    district = next(g for g in report["groups"] if g["level"] == "district")
    assert (district["name"], district["objects"], district["down_s"]) == (
        "Абинский район",
        2,
        3600,
    )
    assert report["outages_by_day"] == {"2026-10-05": 1}


def test_uptime_from_to_is_a_half_open_interval(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/reports/uptime",
        params={"from": "05.10.2026", "to": "2026-10-06"},
        headers=bearer(tokens[Role.ENGINEER]),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["period"]["seconds"] == 86400
    assert report["period"]["label"] == "2026-10-05–2026-10-06"


def test_uptime_without_a_period_is_the_previous_month(
    engine: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get("/api/v1/reports/uptime", headers=bearer(tokens[Role.ADMIN]))
    assert response.status_code == 200
    assert response.json()["period"]["label"] == previous_month(MSK)


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"month": "2026-13"}, "month", "неверный месяц '2026-13'"),
        ({"month": "октябрь"}, "month", "ожидается ГГГГ-ММ"),
        ({"month": "9999-12"}, "month", "год должен быть от 1970 до 2999"),
        ({"month": "2026-10", "from": "01.10.2026"}, "month", "либо month, либо from/to"),
        ({"from": "01.10.2026"}, "to", "указываются вместе"),
        ({"from": "01.10.2026", "to": "01.10.2026"}, "to", "пустой период"),
        ({"from": "01.01.2020", "to": "01.01.2026"}, "to", "период длиннее 400 дней"),
        ({"from": "31.02.2026", "to": "01.03.2026"}, "from", "неверная дата '31.02.2026'"),
        ({"from": "0001-01-01T00:00", "to": "2026-01-01"}, "from", "год должен быть"),
    ],
)
def test_a_bad_period_is_422_with_the_parameter_and_the_reason(
    engine: Engine,
    client: TestClient,
    tokens: dict[Role, str],
    params: dict[str, str],
    field: str,
    reason: str,
) -> None:
    response = client.get(
        "/api/v1/reports/uptime", params=params, headers=bearer(tokens[Role.PROJECT_OFFICE])
    )
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", field]
    assert reason in problem["msg"]


def test_uptime_xlsx_is_a_workbook_with_the_districts(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/reports/uptime",
        params={"month": "2026-10", "format": "xlsx"},
        headers=bearer(tokens[Role.PROJECT_OFFICE]),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="uptime-2026-10.xlsx"' in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert "Районы" in book.sheetnames
    cells = [c for row in book["Районы"].iter_rows(values_only=True) for c in row]
    assert "Абинский район" in cells


def test_uptime_html_gets_its_own_policy_allowing_only_its_inline_css(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/reports/uptime?month=2026-10&format=html&lang=en",
        headers=bearer(tokens[Role.PROJECT_OFFICE]),
    )
    assert response.status_code == 200
    assert "<svg" in response.text
    assert "Availability" in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src" not in policy
    assert "default-src 'none'" in policy


def test_uptime_pdf_is_a_pdf(world: Engine, client: TestClient, tokens: dict[Role, str]) -> None:
    response = client.get(
        "/api/v1/reports/uptime?month=2026-10&format=pdf", headers=bearer(tokens[Role.ADMIN])
    )
    if response.status_code == 503:
        pytest.skip(response.json()["detail"])
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_helpdesk_may_not_read_reports(
    engine: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/reports/uptime?month=2026-10", headers=bearer(tokens[Role.HELPDESK])
    )
    assert response.status_code == 403


# --- schedule and evidence -----------------------------------------------------------------------


@pytest.fixture
def points(engine: Engine) -> Engine:
    """A monthly point 2026 (October due 15.11.2026) and a one-off point due 01.12.2026."""
    load(engine, "control-points", [
        control_point(code="1.1", valid_from=dt.date(2026, 1, 1),
                      valid_until=dt.date(2026, 12, 31)),
        control_point(code="2.1", title="Аттестация ЗСПД", recurrence="once",
                      due_date=dt.date(2026, 12, 1), due_day=None, valid_from=None,
                      valid_until=None),
    ])  # fmt: skip
    return engine


def test_schedule_lists_occurrences_with_their_status_on_a_day(
    points: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/schedule",
        params={"from": "2026-11-01", "to": "2026-12-31", "today": "2026-11-24"},
        headers=bearer(tokens[Role.SECURITY_OFFICER]),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["today"], body["from"], body["to"], body["total"]) == (
        "2026-11-24", "2026-11-01", "2026-12-31", 3,
    )  # fmt: skip
    seen = [(i["code"], i["due"], i["status"], i["status_label"]) for i in body["items"]]
    assert seen == [
        ("1.1", "2026-11-15", "overdue", "просрочена"),
        ("2.1", "2026-12-01", "due", "срок наступает"),
        ("1.1", "2026-12-15", "upcoming", "предстоит"),
    ]
    october = body["items"][0]
    assert (october["period_start"], october["period_end"]) == ("2026-10-01", "2026-10-31")


def test_schedule_status_filter_looks_back_without_limit(
    points: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/schedule?status=overdue&today=2026-11-24",
        headers=bearer(tokens[Role.PROJECT_OFFICE]),
    )
    assert response.status_code == 200
    dues = [i["due"] for i in response.json()["items"]]
    assert dues == [f"2026-{m:02d}-15" for m in range(2, 12)]


def test_evidence_makes_the_occurrence_done_and_is_audited(
    points: Engine, client: TestClient, tokens: dict[Role, str], users: dict[Role, str]
) -> None:
    response = client.post(
        "/api/v1/control-points/1.1/evidence",
        json={"due": "2026-11-15", "document": "Акт № 12 от 14.11.2026", "note": "подписан"},
        headers=bearer(tokens[Role.PROJECT_OFFICE]),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["code"] == "1.1"
    assert created["period_start"] == "2026-10-01"
    assert created["attached_by"] == users[Role.PROJECT_OFFICE]
    schedule = client.get(
        "/api/v1/schedule?from=2026-11-15&to=2026-11-15&today=2026-11-24",
        headers=bearer(tokens[Role.PROJECT_OFFICE]),
    ).json()
    (item,) = schedule["items"]
    assert (item["status"], item["evidence"]["document"]) == ("done", "Акт № 12 от 14.11.2026")
    with points.connect() as conn:
        entry = conn.execute(
            select(AuditEntry).where(AuditEntry.entity == "control_point_evidence")
        ).one()
    assert (entry.actor, entry.entity_key, entry.source) == (
        users[Role.PROJECT_OFFICE], "1.1:2026-10-01", "api",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/api/v1/control-points/9.9/evidence", {"due": "2026-11-15", "document": "Акт"}, 404,
         "9.9 не найдена"),
        ("/api/v1/control-points/1.1/evidence", {"due": "2026-11-16", "document": "Акт"}, 422,
         "не срок контрольной точки 1.1; ближайшие сроки: 15.11.2026, 15.12.2026"),
        ("/api/v1/control-points/1.1/evidence", {"due": "2026-11-15", "document": "   "}, 422,
         "не указан документ"),
        ("/api/v1/control-points/1.1/evidence", {"due": "2026-11-15", "document": "A\x00"}, 422,
         "управляющие символы"),
    ],
)  # fmt: skip
def test_bad_evidence_is_refused_and_nothing_is_written(
    points: Engine,
    client: TestClient,
    tokens: dict[Role, str],
    path: str,
    body: dict[str, str],
    status: int,
    reason: str,
) -> None:
    response = client.post(path, json=body, headers=bearer(tokens[Role.ADMIN]))
    assert response.status_code == status, response.text
    assert reason in str(response.json()["detail"])
    with points.connect() as conn:
        assert conn.execute(select(ControlPointEvidence)).first() is None


def test_second_evidence_for_one_occurrence_is_a_conflict(
    points: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    url = "/api/v1/control-points/2.1/evidence"
    body = {"due": "2026-12-01", "document": "Аттестат № 7"}
    assert client.post(url, json=body, headers=bearer(tokens[Role.ADMIN])).status_code == 201
    again = client.post(url, json=body, headers=bearer(tokens[Role.PROJECT_OFFICE]))
    assert again.status_code == 409
    assert "уже есть подтверждение: «Аттестат № 7»" in again.json()["detail"]


def test_only_the_project_office_and_admin_attach_evidence(
    points: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    body = {"due": "2026-12-01", "document": "Аттестат № 7"}
    for role in (Role.ENGINEER, Role.SECURITY_OFFICER, Role.HELPDESK):
        response = client.post(
            "/api/v1/control-points/2.1/evidence", json=body, headers=bearer(tokens[role])
        )
        assert response.status_code == 403, role


def _attach(client: TestClient, token: str, code: str, due: str, document: str) -> None:
    response = client.post(
        f"/api/v1/control-points/{code}/evidence",
        json={"due": due, "document": document},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text


def _status_of(client: TestClient, token: str, due: str) -> tuple[str, object]:
    schedule = client.get(
        f"/api/v1/schedule?from={due}&to={due}&today=2026-11-24", headers=bearer(token)
    ).json()
    (item,) = schedule["items"]
    return item["status"], item["evidence"]


def test_removed_evidence_makes_the_occurrence_overdue_again_and_is_audited(
    points: Engine, client: TestClient, tokens: dict[Role, str], users: dict[Role, str]
) -> None:
    token = tokens[Role.PROJECT_OFFICE]
    _attach(client, token, "1.1", "2026-11-15", "Акт № 12 от 14.11.2026")
    assert _status_of(client, token, "2026-11-15")[0] == "done"
    response = client.delete(
        "/api/v1/control-points/1.1/evidence/2026-11-15",
        params={"reason": "приложен к другому месяцу"},
        headers=bearer(token),
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert _status_of(client, token, "2026-11-15") == ("overdue", None)
    with points.connect() as conn:
        entry = conn.execute(
            select(AuditEntry)
            .where(AuditEntry.entity == "control_point_evidence", AuditEntry.action == "delete")
        ).one()  # fmt: skip
        assert conn.execute(select(ControlPointEvidence)).first() is None
    assert (entry.actor, entry.entity_key, entry.source, entry.after) == (
        users[Role.PROJECT_OFFICE], "1.1:2026-10-01", "api", None,
    )  # fmt: skip
    assert entry.before["document"] == "Акт № 12 от 14.11.2026"
    assert entry.before["removal_reason"] == "приложен к другому месяцу"


def test_evidence_removal_takes_the_russian_date_too(
    points: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    _attach(client, tokens[Role.ADMIN], "2.1", "2026-12-01", "Аттестат № 7")
    response = client.delete(
        "/api/v1/control-points/2.1/evidence/01.12.2026", headers=bearer(tokens[Role.ADMIN])
    )
    assert response.status_code == 204, response.text
    with points.connect() as conn:
        assert conn.execute(select(ControlPointEvidence)).first() is None


@pytest.mark.parametrize(
    ("path", "status", "loc", "reason"),
    [
        ("/api/v1/control-points/9.9/evidence/2026-11-15", 404, None, "9.9 не найдена"),
        ("/api/v1/control-points/1.1/evidence/2026-11-16", 422, ["path", "due"],
         "не срок контрольной точки 1.1; ближайшие сроки: 15.11.2026, 15.12.2026"),
        ("/api/v1/control-points/1.1/evidence/2026-10-15", 404, None,
         "у контрольной точки 1.1 за срок 15.10.2026 нет подтверждения"),
        ("/api/v1/control-points/1.1/evidence/31.02.2026", 422, ["path", "due"],
         "неверный срок '31.02.2026'"),
        ("/api/v1/control-points/1.1/evidence/0001-11-15", 422, ["path", "due"],
         "год должен быть от 1970 до 2999"),
        ("/api/v1/control-points/1.1/evidence/2026-11-15?reason=a%00b", 422, ["query", "reason"],
         "управляющие символы"),
        ("/api/v1/control-points/1.1/evidence/2026-11-15?reason=" + "п" * 501, 422,
         ["query", "reason"], "500"),
    ],
)  # fmt: skip
def test_bad_evidence_removal_is_refused_and_nothing_is_written(
    points: Engine,
    client: TestClient,
    tokens: dict[Role, str],
    path: str,
    status: int,
    loc: list[str] | None,
    reason: str,
) -> None:
    _attach(client, tokens[Role.ADMIN], "1.1", "2026-11-15", "Акт № 12")
    with points.connect() as conn:
        audit = len(conn.execute(select(AuditEntry.id)).all())
    response = client.delete(path, headers=bearer(tokens[Role.ADMIN]))
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert reason in str(detail)
    if loc is not None:
        assert detail[0]["loc"] == loc
    with points.connect() as conn:
        assert len(conn.execute(select(ControlPointEvidence)).all()) == 1
        assert len(conn.execute(select(AuditEntry.id)).all()) == audit


def test_only_the_project_office_and_admin_remove_evidence(
    points: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    _attach(client, tokens[Role.ADMIN], "2.1", "2026-12-01", "Аттестат № 7")
    url = "/api/v1/control-points/2.1/evidence/2026-12-01"
    for role in (Role.ENGINEER, Role.SECURITY_OFFICER, Role.HELPDESK, Role.AGENT):
        assert client.delete(url, headers=bearer(tokens[role])).status_code == 403, role
    assert client.delete(url).status_code == 401
    with points.connect() as conn:
        assert conn.execute(select(ControlPointEvidence)).first() is not None
    assert client.delete(url, headers=bearer(tokens[Role.PROJECT_OFFICE])).status_code == 204


def test_evidence_removal_with_a_session_needs_the_csrf_token(
    points: Engine, client: TestClient, tokens: dict[Role, str], users: dict[Role, str]
) -> None:
    _attach(client, tokens[Role.ADMIN], "2.1", "2026-12-01", "Аттестат № 7")
    csrf = login(client, users[Role.PROJECT_OFFICE])
    url = "/api/v1/control-points/2.1/evidence/2026-12-01"
    assert client.delete(url).status_code == 403
    with points.connect() as conn:
        assert conn.execute(select(ControlPointEvidence)).first() is not None
    assert client.delete(url, headers={CSRF_HEADER: csrf}).status_code == 204


def test_evidence_removal_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    operation = paths["/api/v1/control-points/{code}/evidence/{due}"]["delete"]
    assert {"204", "401", "403", "404", "422"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"]] == ["code", "due", "reason"]


# --- indicators ----------------------------------------------------------------------------------


def test_indicators_progress_gives_plan_of_the_year_and_the_cmdb_fact(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    load(world, "indicators", [
        {"code": "P1", "title": "Доля АРМ в ЗСПД", "unit": "%", "fact_query": "awp_protected_share",
         "plan_2025": 50, "plan_2026": 90},
        {"code": "P2", "title": "Всего АРМ", "unit": "шт.", "fact_query": "awp_total",
         "plan_2024": 3},
    ])  # fmt: skip
    response = client.get(
        "/api/v1/reports/indicators?year=2026", headers=bearer(tokens[Role.PROJECT_OFFICE])
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["year"] == 2026
    by_code = {i["code"]: i for i in body["items"]}
    assert by_code["P2"] == {
        "code": "P2", "title": "Всего АРМ", "unit": "шт.", "year": 2026, "plan_year": 2024,
        "plan": 3.0, "fact": 3.0, "met": True,
    }  # fmt: skip
    assert (by_code["P1"]["plan_year"], by_code["P1"]["plan"]) == (2026, 90.0)
    assert by_code["P1"]["met"] is (by_code["P1"]["fact"] >= 90)


def test_indicators_year_out_of_range_is_422(
    engine: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/reports/indicators?year=99999", headers=bearer(tokens[Role.ADMIN])
    )
    assert response.status_code == 422


def test_a_nul_in_the_schedule_code_is_422_not_a_database_error(
    points: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    response = client.get(
        "/api/v1/schedule", params={"code": "1.1\x00"}, headers=bearer(tokens[Role.ADMIN])
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "code"]
