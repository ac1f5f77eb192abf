"""Sign-in, sessions, tokens, CSRF and rate limiting, through the real app."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cmdb.choices import Role
from cmdb.models import AuditEntry, WebSession
from cmdb.users import revoke_api_token, update_user
from tests.api_fixtures import PASSWORD, login


def _login_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_health_needs_no_authentication_and_checks_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_anonymous_api_calls_get_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/v1/sites")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/v1/sites", json={"code": "X"}).status_code == 401


def test_anonymous_pages_redirect_to_login_with_the_target(client: TestClient) -> None:
    response = client.get("/cmdb/sites?q=абин", follow_redirects=False)
    assert response.status_code == 303
    assert (
        response.headers["location"] == "/login?next=%2Fcmdb%2Fsites%3Fq%3D%D0%B0%D0%B1%D0%B8%D0%BD"
    )


def test_each_role_lands_on_its_own_page(client: TestClient, users: dict[Role, str]) -> None:
    expected = {
        Role.ENGINEER: "/engineer",
        Role.SECURITY_OFFICER: "/security",
        Role.HELPDESK: "/helpdesk",
        Role.PROJECT_OFFICE: "/project",
        Role.ADMIN: "/engineer",
    }
    for role, home in expected.items():
        client.cookies.clear()
        token = _login_token(client)
        response = client.post(
            "/login",
            data={"username": users[role], "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, role
        assert response.headers["location"] == home, role


def test_session_cookie_is_httponly_samesite_and_secure_by_default(
    engine: Engine, users: dict[Role, str], settings: object
) -> None:
    from api.app import create_app
    from api.settings import ApiSettings

    app = create_app(engine, settings, ApiSettings())  # type: ignore[arg-type]
    # https: the test client (unlike a browser on http://127.0.0.1) keeps Secure cookies for TLS.
    with TestClient(app, base_url="https://127.0.0.1") as client:
        token = _login_token(client)
        response = client.post(
            "/login",
            data={"username": users[Role.HELPDESK], "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("kontur_session=")
    )
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    # Only the hash of the session id is stored.
    raw = cookie.split(";")[0].split("=", 1)[1]
    with engine.connect() as conn:
        stored = conn.scalars(select(WebSession.session_sha256)).all()
    assert raw not in stored
    assert len(stored) == 1


def test_wrong_password_is_refused_and_journaled(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    token = _login_token(client)
    response = client.post(
        "/login",
        data={"username": users[Role.ENGINEER], "password": "wrong-password!", "csrf_token": token},
    )
    assert response.status_code == 401
    assert "Неверное имя пользователя или пароль." in response.text
    with engine.connect() as conn:
        denies = conn.execute(
            select(AuditEntry.actor, AuditEntry.entity_key).where(AuditEntry.action == "deny")
        ).all()
    assert ("anonymous", users[Role.ENGINEER]) in denies
    assert client.get("/api/v1/me").status_code == 401


def test_login_form_without_its_csrf_token_is_refused(
    client: TestClient, users: dict[Role, str]
) -> None:
    client.get("/login")
    response = client.post(
        "/login",
        data={"username": users[Role.ENGINEER], "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 403
    assert client.get("/api/v1/me").status_code == 401


def test_login_is_rate_limited_per_username(client: TestClient, users: dict[Role, str]) -> None:
    name = users[Role.HELPDESK]
    for _ in range(5):
        token = _login_token(client)
        bad = client.post(
            "/login", data={"username": name, "password": "nope-nope-nope", "csrf_token": token}
        )
        assert bad.status_code == 401
    token = _login_token(client)
    # Even the right password is refused while the window lasts.
    response = client.post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Слишком много неудачных попыток" in response.text


def test_next_parameter_cannot_send_the_user_elsewhere(
    client: TestClient, users: dict[Role, str]
) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil"):
        client.cookies.clear()
        token = _login_token(client)
        response = client.post(
            "/login",
            data={
                "username": users[Role.HELPDESK],
                "password": PASSWORD,
                "csrf_token": token,
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/helpdesk", target


def test_session_writes_need_the_csrf_token(client: TestClient, users: dict[Role, str]) -> None:
    csrf = login(client, users[Role.ENGINEER])
    body = {"code": "23", "name": "Краснодарский край"}
    refused = client.post("/api/v1/regions", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert client.get("/api/v1/regions/23").status_code == 404
    accepted = client.post("/api/v1/regions", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201


def test_logout_ends_the_session(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    csrf = login(client, users[Role.ENGINEER])
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    with engine.connect() as conn:
        assert conn.scalar(select(WebSession.id)) is None
        actions = conn.scalars(select(AuditEntry.action).where(AuditEntry.entity == "user")).all()
    assert "login" in actions
    assert "logout" in actions


def test_api_tokens_authenticate_until_revoked(
    client: TestClient, engine: Engine, users: dict[Role, str], tokens: dict[Role, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens[Role.HELPDESK]}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["role"] == "helpdesk"
    revoke_api_token(engine, users[Role.HELPDESK], "tests", actor="tester")
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert (
        client.get("/api/v1/me", headers={"Authorization": "Bearer kt_forged"}).status_code == 401
    )
    assert client.get("/api/v1/me", headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_disabled_user_loses_sessions_and_tokens(
    client: TestClient, engine: Engine, users: dict[Role, str], tokens: dict[Role, str]
) -> None:
    login(client, users[Role.ENGINEER])
    update_user(engine, users[Role.ENGINEER], actor="tester", is_active=False)
    assert client.get("/api/v1/me").status_code == 401
    headers = {"Authorization": f"Bearer {tokens[Role.ENGINEER]}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_wrong_role_gets_403_and_the_attempt_is_journaled(
    client: TestClient, engine: Engine, tokens: dict[Role, str], users: dict[Role, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens[Role.HELPDESK]}"}
    response = client.post("/api/v1/regions", json={"code": "23", "name": "X"}, headers=headers)
    assert response.status_code == 403
    with engine.connect() as conn:
        row = conn.execute(
            select(AuditEntry.actor, AuditEntry.entity_key).where(
                AuditEntry.action == "deny", AuditEntry.entity == "permission"
            )
        ).one()
    assert row == (users[Role.HELPDESK], "cmdb.write")


def test_metrics_open_to_loopback_and_to_tokens_with_the_right(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    client.get("/healthz")
    body = client.get("/metrics")
    assert body.status_code == 200
    assert 'kontur_api_requests_total{method="GET",route="/healthz",status="200"}' in body.text
    headers = {"Authorization": f"Bearer {tokens[Role.HELPDESK]}"}
    assert client.get("/metrics", headers=headers).status_code == 403
    headers = {"Authorization": f"Bearer {tokens[Role.AGENT]}"}
    assert client.get("/metrics", headers=headers).status_code == 200


def test_metrics_refused_from_outside_the_allowed_networks(
    engine: Engine, settings: object, tokens: dict[Role, str]
) -> None:
    from api.app import create_app
    from api.settings import ApiSettings

    app = create_app(engine, settings, ApiSettings(metrics_allow=["127.0.0.2/32"]))  # type: ignore[arg-type]
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 5000)) as client:
        assert client.get("/metrics").status_code == 401
        headers = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
        assert client.get("/metrics", headers=headers).status_code == 200


def test_security_headers_on_every_page(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_admin_manages_users_and_tokens_over_the_api(
    client: TestClient, tokens: dict[Role, str]
) -> None:
    admin = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    body = {"username": "sidorov", "role": "helpdesk", "password": "x" * 14}
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 409
    weak = client.post(
        "/api/v1/users", json={**body, "username": "s2", "password": "x"}, headers=admin
    )
    assert weak.status_code == 422
    assert "пароль короче" in weak.text
    issued = client.post("/api/v1/users/sidorov/tokens", json={"name": "t"}, headers=admin)
    assert issued.status_code == 201
    mine = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert client.get("/api/v1/me", headers=mine).json()["username"] == "sidorov"
    listed = client.get("/api/v1/users", headers=admin).json()
    assert "token" not in str(listed)
    assert "password" not in str(listed)
    lock = client.patch("/api/v1/users/sidorov", json={"is_active": False}, headers=admin)
    assert lock.json()["is_active"] is False
    assert client.get("/api/v1/me", headers=mine).status_code == 401
    engineer = {"Authorization": f"Bearer {tokens[Role.ENGINEER]}"}
    assert client.get("/api/v1/users", headers=engineer).status_code == 403
    assert client.patch("/api/v1/users/nobody", json={}, headers=admin).status_code == 404
