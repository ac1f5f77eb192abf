"""API fixtures: the app on a clean migrated CMDB, one user per role, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.settings import ApiSettings
from cmdb.choices import Role
from cmdb.settings import CmdbSettings
from cmdb.users import create_api_token, create_user

PASSWORD = "correct-horse-battery-staple"
PEOPLE = (Role.ADMIN, Role.ENGINEER, Role.SECURITY_OFFICER, Role.HELPDESK, Role.PROJECT_OFFICE)


def username(role: Role) -> str:
    return f"{role.value.replace('_', '-')}-user"


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with minimal cost in tests: the same algorithm, not the production work factor
    (six users per test at the default cost would dominate the suite's time)."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        "cmdb.users._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def settings(db_url: str) -> CmdbSettings:
    return CmdbSettings(database_url=db_url, timezone="Europe/Moscow")


@pytest.fixture
def app(engine: Engine, settings: CmdbSettings) -> FastAPI:
    return create_app(engine, settings, ApiSettings(cookie_secure=False))


@pytest.fixture
def users(engine: Engine) -> dict[Role, str]:
    """One user per role (the agent without a password); returns role → username."""
    made = {}
    for role in Role:
        name = username(role)
        password = None if role is Role.AGENT else PASSWORD
        create_user(engine, name, role.value, password=password, full_name=name, actor="tester")
        made[role] = name
    return made


@pytest.fixture
def tokens(engine: Engine, users: dict[Role, str]) -> dict[Role, str]:
    """One API token per role."""
    return {
        role: create_api_token(engine, name, "tests", actor="tester")
        for role, name in users.items()
    }


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def login(client: TestClient, user: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token (read from a page)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": user, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    csrf: str = me.json()["csrf_token"]
    return csrf


ZONE = ZoneInfo("Europe/Moscow")
