"""Pushing one heartbeat: an HTTP(S) POST with a bearer token, classified for the retry policy.

Standard library only (urllib). TLS certificates are verified (system store or ``--ca-file``);
redirects are refused, so the token is never re-sent to another address; proxies follow the
usual ``https_proxy``/``no_proxy`` environment. Neither the token nor the request headers are ever
logged or put into a message.
"""

from __future__ import annotations

import enum
import http.client
import json
import logging
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from collectors.agent import __version__

logger = logging.getLogger(__name__)

HEARTBEAT_PATH: Final = "/api/v1/heartbeat"
#: How much of an error response is read for its message.
MAX_ERROR_BODY: Final = 4096


class Outcome(enum.Enum):
    """How a push ended, as far as retrying is concerned."""

    DELIVERED = "delivered"  # 2xx
    REFUSED = "refused"  # 401/403: the token is not accepted; retrying will not help
    REJECTED = "rejected"  # other 3xx/4xx: the server will not take this request as it is
    FAILED = "failed"  # network, TLS, timeout, 5xx: worth retrying later


@dataclass(frozen=True)
class PushResult:
    """The outcome of one push, the HTTP status if there was one, and a short explanation."""

    outcome: Outcome
    status: int | None = None
    detail: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the request carries the token."""

    def redirect_request(  # noqa: PLR0917 - the base class's signature
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> None:
        return None


def heartbeat_url(base: str) -> str:
    """The heartbeat endpoint under ``base`` (a full endpoint URL is kept as it is)."""
    stripped = base.rstrip("/")
    if stripped.endswith(HEARTBEAT_PATH):
        return stripped
    return stripped + HEARTBEAT_PATH


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """A verifying TLS context: the system's CAs, or only those of ``ca_file``."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


class Pusher:
    """Posts heartbeats to one URL (one opener, reused)."""

    def __init__(self, url: str, *, timeout_s: float, context: ssl.SSLContext) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._opener = urllib.request.build_opener(
            _NoRedirect(), urllib.request.HTTPSHandler(context=context)
        )

    def push(self, body: bytes, token: str) -> PushResult:
        """POST ``body`` with ``token``; never raises for network or HTTP errors."""
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s)
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "User-Agent": f"kontur-agent/{__version__}",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            with exc:
                return _classify_error(exc.code, _server_message(exc))
        except urllib.error.URLError as exc:
            return PushResult(Outcome.FAILED, None, _reason(exc.reason))
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            return PushResult(Outcome.FAILED, None, _reason(exc))
        if 200 <= status < 300:
            return PushResult(Outcome.DELIVERED, status)
        return _classify_error(status, "")


def _classify_error(status: int, message: str) -> PushResult:
    if status in (401, 403):
        return PushResult(Outcome.REFUSED, status, message)
    if status == 429 or status >= 500:
        return PushResult(Outcome.FAILED, status, message)
    return PushResult(Outcome.REJECTED, status, message)


def _server_message(exc: urllib.error.HTTPError) -> str:
    """The ``message`` of the server's JSON error body, if any (bounded read)."""
    try:
        raw = exc.read(MAX_ERROR_BODY)
    except (OSError, http.client.HTTPException):
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        message: str = data["message"]
        return message[:500]
    return ""


def _reason(reason: object) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS: {reason.verify_message or reason}"
    if isinstance(reason, TimeoutError):
        return "timeout"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)
