"""End-to-end fixtures: the real app under uvicorn on a loopback port, driven by real Chromium.

Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright (never a downloaded browser);
without it, or without the ``playwright`` package, these tests skip and say why.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from tests.api_fixtures import PASSWORD

CHROMIUM = os.environ.get("KONTUR_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The app served by a real uvicorn on 127.0.0.1:<free port>; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def _playwright() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium per session (a fresh context per test)."""
    instance = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new browser context and page at a 1366x768 office screen."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ru-RU")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def sign_in(page: Any, live_server: str) -> Callable[[str], None]:
    """Sign in through the login form as ``username`` (password: the test password)."""

    def _sign_in(username: str) -> None:
        page.goto(f"{live_server}/login")
        page.get_by_label(re.compile("Имя пользователя|Username")).fill(username)
        page.get_by_label(re.compile("Пароль|Password")).fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Войти|Sign in")).click()
        page.wait_for_load_state("networkidle")

    return _sign_in


def have_chromium() -> bool:
    return Path(CHROMIUM).exists() and shutil.which("true") is not None
