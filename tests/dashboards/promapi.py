"""Small helpers for tests that talk to a live Prometheus and collector over HTTP (loopback)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
#: Bounds every wait; only a failure ever waits this long.
DEADLINE_S = 120.0


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback only
        return json.loads(answer.read())


def http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback only
        return str(answer.read().decode("utf-8"))


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    deadline_s: float = DEADLINE_S,
    diagnose: Callable[[], str] = lambda: "",
) -> T:
    """Poll ``probe`` until it returns something; fail saying ``what`` after the deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.25)
    pytest.fail(f"not within {deadline_s:.0f} s: {what}\n{diagnose()}")
