"""Signing in through a real browser: each role lands on its own page; a wrong password does not."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from cmdb.choices import Role


@pytest.mark.slow
def test_wrong_password_is_refused_and_cookie_is_httponly(
    page: Any, live_server: str, users: dict[Role, str]
) -> None:
    page.goto(f"{live_server}/helpdesk")
    assert page.url.startswith(f"{live_server}/login")
    page.get_by_label("Имя пользователя").fill(users[Role.HELPDESK])
    page.get_by_label("Пароль").fill("not-the-password")
    page.get_by_role("button", name="Войти").click()
    assert page.get_by_role("alert").inner_text() == "Неверное имя пользователя или пароль."
    assert not [c for c in page.context.cookies() if c["name"] == "kontur_session"]
    # The session cookie is out of reach of scripts: document.cookie never shows it.
    assert "kontur_session" not in page.evaluate("document.cookie")


@pytest.mark.slow
def test_signed_in_user_sees_name_role_and_can_switch_language(
    page: Any, live_server: str, users: dict[Role, str], sign_in: Callable[[str], None]
) -> None:
    sign_in(users[Role.SECURITY_OFFICER])
    user = page.get_by_test_id("current-user")
    assert "специалист по защите информации" in user.inner_text()
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("button", name="Sign out").is_visible()
    page.get_by_role("button", name="Sign out").click()
    assert re.search(r"/login", page.url)
