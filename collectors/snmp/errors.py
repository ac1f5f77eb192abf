"""Errors of the SNMP layer, one tree for the fast path and the pysnmp adapter alike.

The tree::

    SnmpError                  base of every error this package raises or reports on purpose
    ├── SnmpTimeout            no (matching) answer after the configured timeout and retries
    ├── SnmpAuthError          the agent refused our credentials (SNMPv3 USM report: wrong digest,
    │                          unknown user, unsupported security level, ...)
    ├── SnmpDecodeError        bytes that are not a well-formed SNMP message of ours
    ├── SnmpProtocolError      the agent answered with errorStatus != 0 (tooBig, genErr, ...)
    └── SnmpConfigError        bad credential or poll-profile files, unknown profile names,
                               a missing optional dependency (the message names file and profile)

Library errors (pysnmp's error indications and exceptions, PyYAML, pydantic) are translated into
these at the boundary, ``raise SnmpTimeout(...) from exc`` style; nothing else escapes the package
for a network or data problem. Messages never contain communities or keys.
"""

from __future__ import annotations

from typing import Final, Literal

#: RFC 3416 error-status names, for messages.
ERROR_STATUS_NAMES: Final[dict[int, str]] = {
    0: "noError",
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}


class SnmpError(Exception):
    """Base of every SNMP error of this package."""


class SnmpTimeout(SnmpError):
    """No answer from ``target`` within ``timeout_s`` after ``attempts`` sends."""

    def __init__(self, target: str, timeout_s: float, attempts: int) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self.attempts = attempts
        super().__init__(
            f"{target}: timeout, no response after {attempts} attempt(s) of {timeout_s:g} s"
        )


class SnmpAuthError(SnmpError):
    """The agent at ``target`` rejected our credentials; ``reason`` says how (never the key)."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"{target}: authentication failed: {reason}")


class SnmpDecodeError(SnmpError):
    """A datagram that is not a well-formed SNMP message; ``offset`` is where decoding stopped."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"malformed SNMP message{where}: {reason}")


class SnmpProtocolError(SnmpError):
    """The agent answered with a non-zero error-status (RFC 3416)."""

    def __init__(self, target: str, error_status: int, error_index: int) -> None:
        self.target = target
        self.error_status = error_status
        self.error_index = error_index
        name = ERROR_STATUS_NAMES.get(error_status, f"status {error_status}")
        super().__init__(f"{target}: agent reported {name} (error-index {error_index})")


class SnmpConfigError(SnmpError):
    """Invalid SNMP configuration; the message names the file, the profile and the reason."""


ErrorKind = Literal["timeout", "auth", "decode", "protocol", "config", "other"]


def error_kind(error: SnmpError) -> ErrorKind:
    """A short, low-cardinality name for an error (a metric label, a count)."""
    if isinstance(error, SnmpTimeout):
        return "timeout"
    if isinstance(error, SnmpAuthError):
        return "auth"
    if isinstance(error, SnmpDecodeError):
        return "decode"
    if isinstance(error, SnmpProtocolError):
        return "protocol"
    if isinstance(error, SnmpConfigError):
        return "config"
    return "other"
