"""The permission matrix, route by route: every route of the app × every role, anonymous included.

The routes are read from the application itself (so routes added later are covered without
touching this file); a route's permission is read from its dependency (``require()`` marks the
dependency callable with ``.permission``) and the expected answer from ``api.permissions.MATRIX``:

* anonymous: ``/api/…`` → 401, pages → 303 to ``/login?next=…``;
* a role the matrix allows: anything but 401/403 and the login redirect (the handler ran: 200,
  404 for the placeholder key, 422 for the missing body…);
* a role it does not: 403 (JSON or the 403 page).

JSON routes are called with the role's API token, pages with a signed-in session (and its CSRF
token, so unsafe methods are refused for the role, not for a missing token); the agent role
cannot sign in to pages and calls them with its token. Path parameters get a placeholder value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.auth import CSRF_HEADER, SESSION_COOKIE
from api.permissions import MATRIX, Permission
from cmdb.choices import Role
from cmdb.users import create_session, principal_for_token

#: Routes anyone may call: health, sign-in, the language switch, the landing redirect, the API's
#: own description, and the static files.
PUBLIC = frozenset(
    {
        "/healthz",
        "/login",
        "/lang/{code}",
        "/",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/docs/oauth2-redirect",
    }
)
PUBLIC_PREFIXES = ("/static",)
#: Routes that check their permission in the handler instead of a dependency, and why.
#: /metrics: a Prometheus scraper from an allowed network needs no token (api/routes/system.py).
INLINE: dict[str, Permission] = {"/metrics": Permission.METRICS_READ}
#: What a path parameter becomes: a key that exists nowhere.
PLACEHOLDER = "no-such-key-1"


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    permissions: frozenset[Permission]

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", PLACEHOLDER, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _permissions(dependant: Any) -> set[Permission]:
    """Every permission required by a route's dependencies, however deeply nested."""
    found: set[Permission] = set()
    for sub in getattr(dependant, "dependencies", ()):
        permission = getattr(sub.call, "permission", None)
        if isinstance(permission, Permission):
            found.add(permission)
        found |= _permissions(sub)
    return found


def _routes(app: FastAPI) -> Iterator[tuple[str, set[str], set[Permission]]]:
    """(path, methods, permissions) of every route, routers included, mounts left out."""
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or path.startswith(PUBLIC_PREFIXES):
            continue
        dependant = getattr(route, "dependant", None)
        methods = set(route.methods or {"WEBSOCKET"}) - {"HEAD", "OPTIONS"}
        yield path, methods, _permissions(dependant) if dependant is not None else set()


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (path, method) that needs a permission, with the permissions it needs."""
    found = []
    for path, methods, permissions in _routes(app):
        if path in PUBLIC:
            continue
        needed = frozenset(permissions or ({INLINE[path]} if path in INLINE else set()))
        found += [Endpoint(path, m, needed) for m in sorted(methods) if m != "WEBSOCKET"]
    return found


def test_every_route_except_the_public_ones_requires_a_permission(app: FastAPI) -> None:
    missing = [
        f"{sorted(methods)} {path}"
        for path, methods, permissions in _routes(app)
        if path not in PUBLIC and path not in INLINE and not permissions
    ]
    assert missing == [], "routes without Depends(require(Permission…)):\n" + "\n".join(missing)
    public_seen = {path for path, _m, _p in _routes(app)} & PUBLIC
    assert public_seen == PUBLIC, "a public route listed here no longer exists"


def test_the_walk_sees_the_routes_of_every_router(app: FastAPI) -> None:
    paths = {e.path for e in endpoints(app)}
    assert {"/api/v1/sites", "/api/v1/me", "/project", "/api/v1/reports/uptime"} <= paths
    assert len(paths) > 60


def _call(client: TestClient, endpoint: Endpoint, headers: dict[str, str]) -> Any:
    return client.request(endpoint.method, endpoint.url, headers=headers, follow_redirects=False)


def _login_redirect(response: Any) -> bool:
    location: str = response.headers.get("location", "")
    return response.status_code == 303 and location.startswith("/login?next=")


def test_anonymous_callers_are_asked_to_authenticate(app: FastAPI) -> None:
    wrong = []
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        client.headers.pop("cookie", None)
        for endpoint in endpoints(app):
            response = _call(client, endpoint, {})
            if endpoint.api or endpoint.path in INLINE:
                ok = response.status_code == 401
            else:
                ok = _login_redirect(response)
            if not ok:
                wrong.append(f"{endpoint}: {response.status_code}")
    assert wrong == [], "anonymous callers let through or answered wrongly:\n" + "\n".join(wrong)


def _caller(engine: Engine, token: str, role: Role) -> Callable[[Endpoint], dict[str, str]]:
    """Headers for one request as ``role``: its token for the API, a fresh session for pages."""
    principal = principal_for_token(engine, token)
    assert principal is not None

    def headers(endpoint: Endpoint) -> dict[str, str]:
        if endpoint.api or endpoint.path in INLINE or role is Role.AGENT:
            return {"Authorization": f"Bearer {token}"}
        # A fresh session per request: one of the routes is /logout, which ends it.
        raw, csrf = create_session(engine, principal)
        return {"Cookie": f"{SESSION_COOKIE}={raw}", CSRF_HEADER: csrf}

    return headers


@pytest.mark.slow
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_gets_exactly_what_the_matrix_grants(
    app: FastAPI, engine: Engine, tokens: dict[Role, str], role: Role
) -> None:
    headers = _caller(engine, tokens[role], role)
    wrong = []
    checked = 0
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        for endpoint in endpoints(app):
            allowed = all(role in MATRIX[p] for p in endpoint.permissions)
            response = _call(client, endpoint, headers(endpoint))
            refused = response.status_code in (401, 403) or _login_redirect(response)
            if allowed and refused:
                wrong.append(f"{endpoint}: refused ({response.status_code}) but the matrix allows")
            elif not allowed and response.status_code != 403:
                wrong.append(f"{endpoint}: {response.status_code}, expected 403")
            checked += 1
    assert checked > 60
    assert wrong == [], f"{role.value}:\n" + "\n".join(wrong)


def matrix_table() -> str:
    """The permission matrix as the Markdown table of docs/api.md."""
    roles = list(Role)
    lines = [
        "| permission | " + " | ".join(f"`{r.value}`" for r in roles) + " |",
        "| --- |" + " --- |" * len(roles),
    ]
    for permission, granted in MATRIX.items():
        marks = " | ".join("✓" if r in granted else "—" for r in roles)
        lines.append(f"| `{permission.value}` | {marks} |")
    return "\n".join(lines)


@pytest.mark.backend_neutral
def test_the_documented_matrix_is_the_matrix() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- permission-matrix:begin -->\n(.*?)\n<!-- permission-matrix:end -->", docs, re.S
    )
    assert found is not None
    assert found.group(1) == matrix_table(), "regenerate the table: matrix_table() in this file"
