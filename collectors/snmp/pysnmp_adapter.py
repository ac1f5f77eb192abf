"""The one module that touches pysnmp: SNMPv3 GETs and walks, returned as our own dataclasses.

pysnmp's API is untyped; nothing of it leaves this module. Values become
:mod:`collectors.snmp.types` dataclasses, outcomes :class:`SnmpResult`, and pysnmp's error
indications and exceptions become :mod:`collectors.snmp.errors` (translated here, at the boundary).

pysnmp configures every (credentials, target) pair into its engine's MIB-based tables and never
forgets it, and each operation gets slower as they accumulate (measured here: the first walk of a
target cost ~5 ms of CPU with an empty engine and ~57 ms once 3,000 targets were configured). So
an engine serves at most ``engine_targets`` distinct targets; then a fresh one takes over and the
old one is closed when its last operation ends (SNMPv3 engine discovery is simply redone).
Engines are created lazily inside the running event loop; :meth:`PysnmpAdapter.close` closes them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from pyasn1.error import PyAsn1Error  # no stubs; pysnmp's base
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC384_SHA512,
    USM_AUTH_NONE,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB256_AES_BLUMENTHAL,
    USM_PRIV_NONE,
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_walk_cmd,
    get_cmd,
)
from pysnmp.proto import errind, rfc1902, rfc1905

from collectors.snmp.ber import normalize_oid
from collectors.snmp.credentials import Credential, V2cCredential
from collectors.snmp.errors import (
    SnmpAuthError,
    SnmpConfigError,
    SnmpDecodeError,
    SnmpError,
    SnmpProtocolError,
    SnmpTimeout,
)
from collectors.snmp.types import (
    Counter32,
    Counter64,
    EndOfMibView,
    Gauge32,
    Integer,
    IpAddress,
    NoSuchInstance,
    NoSuchObject,
    Null,
    ObjectIdentifier,
    OctetString,
    Opaque,
    SnmpResult,
    SnmpTarget,
    SnmpValue,
    TimeTicks,
)

logger = logging.getLogger(__name__)

_AUTH: Final[dict[str, Any]] = {
    "sha": USM_AUTH_HMAC96_SHA,
    "sha256": USM_AUTH_HMAC192_SHA256,
    "sha512": USM_AUTH_HMAC384_SHA512,
}
# "aes256" is net-snmp's AES256 (Blumenthal key extension, draft-blumenthal-aes-usm).
_PRIV: Final[dict[str, Any]] = {
    "aes": USM_PRIV_CFB128_AES,
    "aes256": USM_PRIV_CFB256_AES_BLUMENTHAL,
}

# Error indications that mean "the agent does not accept these credentials".
_AUTH_INDICATIONS: Final = (
    errind.WrongDigest,
    errind.UnknownUserName,
    errind.UnknownSecurityName,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.UnsupportedSecurityLevel,
    errind.DecryptionError,
    errind.NotInTimeWindow,
    errind.UnknownCommunityName,
)
_DECODE_INDICATIONS: Final = (errind.DeserializationError, errind.SerializationError)

_WALK_MAX_REPETITIONS: Final = 25
_ENGINE_TARGETS: Final = 256


def _ip(value: Any) -> IpAddress:
    return IpAddress(".".join(str(b) for b in bytes(value.asOctets())))


_CONVERTERS: Final[dict[Any, Callable[[Any], SnmpValue]]] = {
    rfc1902.Integer32.tagSet: lambda v: Integer(int(v)),
    rfc1902.OctetString.tagSet: lambda v: OctetString(bytes(v.asOctets())),
    rfc1902.ObjectIdentifier.tagSet: lambda v: ObjectIdentifier(str(v)),
    rfc1902.IpAddress.tagSet: _ip,
    rfc1902.Counter32.tagSet: lambda v: Counter32(int(v)),
    rfc1902.Gauge32.tagSet: lambda v: Gauge32(int(v)),
    rfc1902.TimeTicks.tagSet: lambda v: TimeTicks(int(v)),
    rfc1902.Opaque.tagSet: lambda v: Opaque(bytes(v.asOctets())),
    rfc1902.Counter64.tagSet: lambda v: Counter64(int(v)),
    rfc1905.NoSuchObject.tagSet: lambda v: NoSuchObject(),
    rfc1905.NoSuchInstance.tagSet: lambda v: NoSuchInstance(),
    rfc1905.EndOfMibView.tagSet: lambda v: EndOfMibView(),
    rfc1902.Null.tagSet: lambda v: Null(),
}


def convert_value(value: Any) -> SnmpValue:
    """Our dataclass for one pysnmp/pyasn1 value; SnmpDecodeError for a type SNMP does not use."""
    converter = _CONVERTERS.get(getattr(value, "tagSet", None))
    if converter is None:
        raise SnmpDecodeError(f"unexpected value type {type(value).__name__}")
    return converter(value)


class _Engine:
    """One pysnmp engine, the targets configured into it and the operations using it."""

    __slots__ = ("engine", "retired", "targets", "users")

    def __init__(self) -> None:
        self.engine: Any = SnmpEngine()
        self.targets: set[tuple[str, int, str]] = set()
        self.users = 0
        self.retired = False


class PysnmpAdapter:
    """SNMPv3 GETs and walks (and v2c, if asked) through pysnmp's asyncio high-level API."""

    def __init__(
        self, *, timeout_s: float, retries: int, engine_targets: int = _ENGINE_TARGETS
    ) -> None:
        self._timeout_s = timeout_s
        self._retries = retries
        self._engine_targets = engine_targets
        self._current: _Engine | None = None
        self._draining: list[_Engine] = []
        self._transports: dict[tuple[str, int], Any] = {}
        #: Engines created so far (a fresh one every ``engine_targets`` targets).
        self.engines_created = 0

    def _acquire(self, target: SnmpTarget) -> _Engine:
        key = (target.host, target.port, target.credential)
        current = self._current
        if current is None or (
            key not in current.targets and len(current.targets) >= self._engine_targets
        ):
            if current is not None:
                current.retired = True
                if current.users:
                    self._draining.append(current)
                else:
                    current.engine.close_dispatcher()
            current = self._current = _Engine()
            self.engines_created += 1
        current.targets.add(key)
        current.users += 1
        return current

    def _release(self, engine: _Engine) -> None:
        engine.users -= 1
        if engine.retired and engine.users == 0:
            engine.engine.close_dispatcher()
            self._draining.remove(engine)

    def close(self) -> None:
        """Close every engine's transports (new engines are made if the adapter is used again)."""
        for engine in [*self._draining, *([self._current] if self._current else [])]:
            engine.engine.close_dispatcher()
        self._draining.clear()
        self._current = None
        self._transports.clear()

    async def _transport(self, target: SnmpTarget) -> Any:
        key = (target.host, target.port)
        transport = self._transports.get(key)
        if transport is None:
            try:
                transport = await UdpTransportTarget.create(
                    key, timeout=self._timeout_s, retries=self._retries
                )
            except PySnmpError as exc:
                raise SnmpConfigError(f"{target}: cannot resolve address: {exc}") from exc
            self._transports[key] = transport
        return transport

    @staticmethod
    def _auth(credential: Credential) -> Any:
        if isinstance(credential, V2cCredential):
            community = credential.community.get_secret_value()
            return CommunityData(community, mpModel=1)  # noqa: S508 - v2c profiles are v2c on purpose
        return UsmUserData(
            credential.user,
            authKey=credential.auth_key.get_secret_value() if credential.auth_key else None,
            privKey=credential.priv_key.get_secret_value() if credential.priv_key else None,
            authProtocol=_AUTH[credential.auth] if credential.auth else USM_AUTH_NONE,
            privProtocol=_PRIV[credential.priv] if credential.priv else USM_PRIV_NONE,
        )

    def _error(self, target: SnmpTarget, indication: Any) -> SnmpError:
        if isinstance(indication, errind.RequestTimedOut):
            return SnmpTimeout(str(target), self._timeout_s, self._retries + 1)
        if isinstance(indication, _AUTH_INDICATIONS):
            return SnmpAuthError(str(target), str(indication))
        if isinstance(indication, _DECODE_INDICATIONS):
            return SnmpDecodeError(str(indication))
        if isinstance(indication, errind.EncryptionError):
            return SnmpConfigError(
                f"{target}: SNMPv3 privacy is unavailable ({indication}); "
                "pysnmp needs the 'cryptography' package for AES"
            )
        return SnmpError(f"{target}: {indication}")

    def _library_error(self, target: SnmpTarget, exc: Exception) -> SnmpError:
        indication = getattr(exc, "errorIndication", None)
        if indication is None and hasattr(exc, "get"):
            indication = exc.get("errorIndication")  # pysnmp StatusInformation is dict-like
        if indication is not None:
            return self._error(target, indication)
        return SnmpError(f"{target}: SNMP library error: {exc}")

    async def get(
        self, target: SnmpTarget, credential: Credential, oids: Sequence[str]
    ) -> SnmpResult:
        """One GET of ``oids``; errors are returned in the result, never raised."""
        keys = [normalize_oid(o) for o in oids]
        transport = await self._transport(target)
        started = time.monotonic()
        engine = self._acquire(target)
        try:
            indication, status, index, varbinds = await get_cmd(
                engine.engine,
                self._auth(credential),
                transport,
                ContextData(),
                *(ObjectType(ObjectIdentity(k)) for k in keys),
                lookupMib=False,
            )
        except (PySnmpError, PyAsn1Error) as exc:
            return SnmpResult(target, error=self._library_error(target, exc))
        finally:
            self._release(engine)
        rtt = time.monotonic() - started
        if indication:
            return SnmpResult(target, error=self._error(target, indication))
        if int(status):
            return SnmpResult(target, error=SnmpProtocolError(str(target), int(status), int(index)))
        try:
            values = {str(name): convert_value(value) for name, value in varbinds}
        except SnmpDecodeError as exc:
            return SnmpResult(target, error=exc)
        if list(values) != keys:
            return SnmpResult(
                target, error=SnmpDecodeError("response varbinds do not match the request")
            )
        return SnmpResult(target, values, None, rtt)

    async def walk(
        self, target: SnmpTarget, credential: Credential, root: str, *, max_rows: int
    ) -> SnmpResult:
        """All values under ``root`` (GETBULK), in agent order; a partial walk keeps its rows."""
        prefix = normalize_oid(root)
        transport = await self._transport(target)
        values: dict[str, SnmpValue] = {}
        started = time.monotonic()
        error: SnmpError | None = None
        engine = self._acquire(target)
        try:
            async for indication, status, index, varbinds in bulk_walk_cmd(
                engine.engine,
                self._auth(credential),
                transport,
                ContextData(),
                0,
                _WALK_MAX_REPETITIONS,
                ObjectType(ObjectIdentity(prefix)),
                lookupMib=False,
                lexicographicMode=False,
                maxRows=max_rows,
            ):
                if indication:
                    error = self._error(target, indication)
                    break
                if int(status):
                    error = SnmpProtocolError(str(target), int(status), int(index))
                    break
                for name, value in varbinds:
                    oid = str(name)
                    if not oid.startswith(prefix + "."):
                        continue
                    converted = convert_value(value)
                    if isinstance(converted, EndOfMibView | NoSuchObject | NoSuchInstance):
                        continue
                    values[oid] = converted
        except (PySnmpError, PyAsn1Error) as exc:
            error = self._library_error(target, exc)
        except SnmpDecodeError as exc:
            error = exc
        finally:
            self._release(engine)
        rtt = time.monotonic() - started if error is None or values else None
        return SnmpResult(target, values, error, rtt)
