"""The project office page as its users see it: uptime by district, charts, control points,
evidence form, indicators, downloads."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.app import CONTENT_SECURITY_POLICY
from api.routes.reports import previous_month
from cmdb.calendars import add_evidence, attach_generated
from cmdb.choices import Role
from cmdb.models import AuditEntry, ControlPointEvidence
from tests.api.test_reports_api import add_outage, msk
from tests.api_fixtures import login
from tests.factories import control_point, load, make_world

MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
def world(engine: Engine) -> Engine:
    """The factory region, an October outage, and a one-off control point due 10 days ago."""
    make_world(engine)
    add_outage(engine, "CH-FAP-0001-1", msk(5, 10), msk(5, 11))
    today = dt.datetime.now(MSK).date()
    load(engine, "control-points", [
        control_point(code="3.1", title="Отчёт о доступности каналов", recurrence="once",
                      due_date=today - dt.timedelta(days=10), due_day=None, valid_from=None,
                      valid_until=None, evidence="Отчёт"),
    ])  # fmt: skip
    return engine


def _row(html: str, code: str) -> str:
    found = re.search(rf'<tr data-cp="{re.escape(code)}:[^"]*".*?</tr>', html, re.S)
    assert found is not None, f"no row of {code}"
    return found.group(0)


def test_month_uptime_by_district_with_the_report_charts(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    login(client, users[Role.PROJECT_OFFICE])
    page = client.get("/project?month=2026-10")
    assert page.status_code == 200
    html = page.text
    table = re.search(r'data-testid="uptime-by-district".*?</table>', html, re.S)
    assert table is not None
    assert "Абинский район" in table.group(0)
    assert "Итого по региону" in table.group(0)
    assert "99,866 %" in table.group(0)  # (31 days − 1 h) / 31 days
    assert 'data-chart="sli-channel"' in html
    assert 'data-chart="outages"' in html
    assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert " style=" not in html  # the CSP (style-src 'self') would block it
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    links = re.findall(r'href="(/api/v1/reports/uptime\?[^"]+)"', html)
    assert [link.replace("&amp;", "&") for link in links] == [
        f"/api/v1/reports/uptime?month=2026-10&format={fmt}"
        for fmt in ("xlsx", "pdf", "html", "json")
    ]
    download = client.get(links[0].replace("&amp;", "&"))
    assert download.status_code == 200
    assert download.content[:2] == b"PK"  # a zip: the XLSX workbook


def test_default_month_is_the_previous_calendar_month(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    login(client, users[Role.PROJECT_OFFICE])
    html = client.get("/project").text
    assert f'name="month" value="{previous_month(MSK)}"' in html


def test_a_bad_month_is_shown_next_to_the_selector_with_the_input_kept(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    login(client, users[Role.PROJECT_OFFICE])
    page = client.get("/project?month=2026-13")
    assert page.status_code == 422
    assert 'value="2026-13"' in page.text
    assert "неверный месяц &#39;2026-13&#39;: ожидается ГГГГ-ММ" in page.text


def test_district_names_are_escaped_in_the_table_and_the_charts(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    load(world, "districts", [{"code": "23-R01", "name": "<script>x()</script>", "region": "23"}])
    login(client, users[Role.PROJECT_OFFICE])
    html = client.get("/project?month=2026-10").text
    assert "<script>x()" not in html
    assert "&lt;script&gt;x()" in html


def test_overdue_point_gets_evidence_and_is_done_and_audited(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    csrf = login(client, users[Role.PROJECT_OFFICE])
    row = _row(client.get("/project").text, "3.1")
    assert "просрочена" in row
    assert "Приложить подтверждение" in row
    due = re.search(r'name="due" value="([^"]+)"', row)
    assert due is not None
    response = client.post(
        "/project/evidence",
        data={"csrf_token": csrf, "code": "3.1", "due": due.group(1),
              "document": "Отчёт за октябрь", "note": "", "month": "2026-10"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "Подтверждение приложено: контрольная точка 3.1" in page.text
    row = _row(page.text, "3.1")
    assert "выполнена" in row
    assert "«Отчёт за октябрь»" in row
    with world.connect() as conn:
        actor = conn.scalar(
            select(AuditEntry.actor).where(AuditEntry.entity == "control_point_evidence")
        )
    assert actor == users[Role.PROJECT_OFFICE]


def test_evidence_error_is_shown_on_the_form_and_nothing_written(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    csrf = login(client, users[Role.ADMIN])
    due = (dt.datetime.now(MSK).date() - dt.timedelta(days=10)).isoformat()
    page = client.post(
        "/project/evidence",
        data={"csrf_token": csrf, "code": "3.1", "due": due, "document": "   ",
              "note": "моё примечание", "month": "2026-10"},
    )  # fmt: skip
    assert page.status_code == 422
    row = _row(page.text, "3.1")
    assert "<details open>" in row
    assert "не указан документ" in row
    assert "моё примечание" in row
    with world.connect() as conn:
        assert conn.execute(select(ControlPointEvidence)).first() is None


def test_evidence_without_csrf_is_refused(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    login(client, users[Role.PROJECT_OFFICE])
    due = (dt.datetime.now(MSK).date() - dt.timedelta(days=10)).isoformat()
    response = client.post(
        "/project/evidence", data={"code": "3.1", "due": due, "document": "Отчёт"}
    )
    assert response.status_code == 403
    with world.connect() as conn:
        assert conn.execute(select(ControlPointEvidence)).first() is None


def test_security_officer_sees_the_page_without_the_evidence_form(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    login(client, users[Role.SECURITY_OFFICER])
    html = client.get("/project").text
    assert "просрочена" in _row(html, "3.1")
    assert 'action="/project/evidence"' not in html


def _attached(world: Engine, document: str = "Отчёт за октябрь") -> str:
    """Evidence on the one-off point 3.1 (due 10 days ago); its due date, ISO."""
    due = dt.datetime.now(MSK).date() - dt.timedelta(days=10)
    add_evidence(world, "3.1", due, document, actor="someone")
    return due.isoformat()


def _evidence_count(world: Engine) -> int:
    with world.connect() as conn:
        return len(conn.execute(select(ControlPointEvidence)).all())


def test_evidence_attached_by_mistake_is_removed_with_a_reason(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    _attached(world)
    csrf = login(client, users[Role.PROJECT_OFFICE])
    row = _row(client.get("/project").text, "3.1")
    assert "выполнена" in row
    assert 'action="/project/evidence/remove"' in row
    assert "Удалить подтверждение" in row
    assert re.search(r'<input id="reason-\d+" name="reason" maxlength="500" required', row)
    due = re.search(r'name="due" value="([^"]+)"', row)
    assert due is not None
    response = client.post(
        "/project/evidence/remove",
        data={"csrf_token": csrf, "code": "3.1", "due": due.group(1),
              "reason": "приложен не к той точке", "month": "2026-10"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"].startswith("/project?month=2026-10&removed=3.1&due=")
    page = client.get(response.headers["location"])
    assert "Подтверждение удалено: контрольная точка 3.1" in page.text
    row = _row(page.text, "3.1")
    assert "просрочена" in row
    assert "Отчёт за октябрь" not in row
    assert "Приложить подтверждение" in row
    assert _evidence_count(world) == 0
    with world.connect() as conn:
        entry = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.before, AuditEntry.source)
            .where(AuditEntry.entity == "control_point_evidence", AuditEntry.action == "delete")
        ).one()  # fmt: skip
    assert entry[:2] == (users[Role.PROJECT_OFFICE], "delete")
    assert entry[2]["removal_reason"] == "приложен не к той точке"
    assert entry[3] == "web"


def test_evidence_removal_needs_a_reason_and_writes_nothing_without_one(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    due = _attached(world)
    csrf = login(client, users[Role.ADMIN])
    page = client.post(
        "/project/evidence/remove",
        data={"csrf_token": csrf, "code": "3.1", "due": due, "reason": "   ", "month": "2026-10"},
    )
    assert page.status_code == 422
    row = _row(page.text, "3.1")
    assert "укажите причину удаления подтверждения" in row
    assert row.count("<details open>") == 1
    assert 'aria-invalid="true"' in row.split('action="/project/evidence/remove"')[1]
    assert "выполнена" in row
    assert _evidence_count(world) == 1


def test_removing_evidence_that_is_no_longer_there_says_so(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    due = dt.datetime.now(MSK).date() - dt.timedelta(days=10)
    csrf = login(client, users[Role.PROJECT_OFFICE])
    page = client.post(
        "/project/evidence/remove",
        data={"csrf_token": csrf, "code": "3.1", "due": due.isoformat(), "reason": "ошибка"},
    )
    assert page.status_code == 404
    row = _row(page.text, "3.1")
    assert f"за срок {due:%d.%m.%Y} нет подтверждения" in row
    assert "просрочена" in row
    page = client.post(
        "/project/evidence/remove",
        data={"csrf_token": csrf, "code": "9.9", "due": due.isoformat(), "reason": "ошибка"},
    )
    assert page.status_code == 404
    assert "контрольная точка 9.9 не найдена" in page.text
    page = client.post(
        "/project/evidence/remove",
        data={"csrf_token": csrf, "code": "3.1", "due": "15.13.2026", "reason": "ошибка"},
    )
    assert page.status_code == 422
    assert "неверный срок" in page.text


def test_evidence_removal_without_csrf_is_refused(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    due = _attached(world)
    login(client, users[Role.PROJECT_OFFICE])
    response = client.post(
        "/project/evidence/remove", data={"code": "3.1", "due": due, "reason": "ошибка"}
    )
    assert response.status_code == 403
    assert _evidence_count(world) == 1


def test_security_officer_sees_evidence_without_the_remove_form_and_may_not_post_it(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    due = _attached(world)
    csrf = login(client, users[Role.SECURITY_OFFICER])
    row = _row(client.get("/project").text, "3.1")
    assert "«Отчёт за октябрь»" in row
    assert "/project/evidence/remove" not in row
    response = client.post(
        "/project/evidence/remove",
        data={"csrf_token": csrf, "code": "3.1", "due": due, "reason": "ошибка"},
    )
    assert response.status_code == 403
    assert _evidence_count(world) == 1


def test_generated_evidence_warns_that_the_report_attaches_it_again(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    due = dt.datetime.now(MSK).date() - dt.timedelta(days=10)
    attach_generated(world, "3.1", due, "Отчёт о доступности за месяц")
    login(client, users[Role.PROJECT_OFFICE])
    row = _row(client.get("/project").text, "3.1")
    assert "следующий отчёт за этот месяц с этой контрольной точкой приложит его снова" in row
    client.get("/lang/en")
    row = _row(client.get("/project").text, "3.1")
    assert "Remove evidence" in row
    assert "Reason for removal" in row


def test_indicators_plan_and_fact_for_the_chosen_year(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    load(world, "indicators", [
        {"code": "P2", "title": "Всего АРМ", "unit": "шт.", "fact_query": "awp_total",
         "plan_2024": 3, "plan_2026": 5},
    ])  # fmt: skip
    login(client, users[Role.PROJECT_OFFICE])
    html = client.get("/project?year=2025").text
    table = re.search(r'data-testid="indicators".*?</table>', html, re.S)
    assert table is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table.group(0), re.S)
    assert cells[:3] == ["P2", "Всего АРМ", "шт."]
    assert cells[3].startswith("3 ")
    assert "план 2024 г." in cells[3]
    assert cells[4] == "3"
    assert "да" in cells[5]
    html = client.get("/project?year=2026").text
    assert "План на 2026" in html
    assert "нет" in re.findall(r"<td[^>]*>(.*?)</td>", html.split('data-testid="indicators"')[1])[5]


def test_english_page(world: Engine, client: TestClient, users: dict[Role, str]) -> None:
    login(client, users[Role.PROJECT_OFFICE])
    client.get("/lang/en")
    html = client.get("/project?month=2026-10").text
    assert "Channel availability by district" in html
    assert "overdue" in _row(html, "3.1")


def test_helpdesk_gets_the_403_page(
    world: Engine, client: TestClient, users: dict[Role, str]
) -> None:
    login(client, users[Role.HELPDESK])
    assert client.get("/project").status_code == 403
