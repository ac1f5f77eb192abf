"""Named SNMP credential profiles (v2c communities, v3 USM users) loaded from a YAML file.

The file (``SnmpSettings.credentials_file``) maps profile names to credentials::

    profiles:
      fap-ro:                      # SNMPv2c
        version: v2c
        community_env: KONTUR_SNMP_FAP_COMMUNITY   # or: community: "..."
      core-v3:                     # SNMPv3 authPriv
        version: v3
        user: kontur
        auth: sha256               # sha | sha256 | sha512
        auth_key_env: KONTUR_SNMP_CORE_AUTH        # or: auth_key: "..." (at least 8 characters)
        priv: aes                  # aes (AES-128) | aes256
        priv_key_env: KONTUR_SNMP_CORE_PRIV        # or: priv_key: "..."
      ups-v3-noauth:               # SNMPv3 noAuthNoPriv: a user alone; authNoPriv: auth, no priv
        version: v3
        user: monitor

Every secret may be given inline or, so the file can stay secret-free, as the name of an
environment variable (``*_env``). Secrets are held as :class:`pydantic.SecretStr`: they never show
in ``repr``, logs or error messages. Any mistake raises :class:`SnmpConfigError` naming the file,
the profile and the reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic_core import ErrorDetails

from collectors.settings import SnmpSettings
from collectors.snmp.errors import SnmpConfigError

logger = logging.getLogger(__name__)

AuthProtocol: TypeAlias = Literal["sha", "sha256", "sha512"]
PrivProtocol: TypeAlias = Literal["aes", "aes256"]
SecurityLevel: TypeAlias = Literal["noAuthNoPriv", "authNoPriv", "authPriv"]

#: RFC 3414 requires USM passphrases of at least 8 characters.
MIN_KEY_LENGTH = 8


@dataclass(frozen=True, slots=True)
class V2cCredential:
    """An SNMPv2c community."""

    name: str
    community: SecretStr

    @property
    def version(self) -> Literal["v2c"]:
        """The SNMP version, ``"v2c"``."""
        return "v2c"


@dataclass(frozen=True, slots=True)
class V3Credential:
    """An SNMPv3 USM user; ``auth``/``priv`` are ``None`` for the lower security levels."""

    name: str
    user: str
    auth: AuthProtocol | None = None
    auth_key: SecretStr | None = None
    priv: PrivProtocol | None = None
    priv_key: SecretStr | None = None

    @property
    def version(self) -> Literal["v3"]:
        """The SNMP version, ``"v3"``."""
        return "v3"

    @property
    def level(self) -> SecurityLevel:
        """The USM security level these settings give."""
        if self.auth is None:
            return "noAuthNoPriv"
        return "authNoPriv" if self.priv is None else "authPriv"


Credential: TypeAlias = V2cCredential | V3Credential


class _RawProfile(BaseModel):
    """One profile as written in the file, before secrets are resolved."""

    # A key written as digits is still a key: YAML would make it an int.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    version: Literal["v2c", "v3"]
    community: str | None = None
    community_env: str | None = None
    user: str | None = None
    auth: AuthProtocol | None = None
    auth_key: str | None = None
    auth_key_env: str | None = None
    priv: PrivProtocol | None = None
    priv_key: str | None = None
    priv_key_env: str | None = None


class CredentialStore(Mapping[str, Credential]):
    """Credential profiles by name; ``store[name]`` raises SnmpConfigError listing the names."""

    def __init__(self, profiles: Mapping[str, Credential], *, source: str = "<memory>") -> None:
        self._profiles = dict(profiles)
        self.source = source

    @classmethod
    def from_settings(
        cls, settings: SnmpSettings, environ: Mapping[str, str] | None = None
    ) -> CredentialStore:
        """Load ``settings.credentials_file``; SnmpConfigError when it is not set."""
        if settings.credentials_file is None:
            raise SnmpConfigError(
                "no SNMP credentials file: set KONTUR_COLLECTOR__SNMP__CREDENTIALS_FILE"
            )
        return load_credentials(settings.credentials_file, environ)

    def __getitem__(self, name: str) -> Credential:
        try:
            return self._profiles[name]
        except KeyError:
            known = ", ".join(sorted(self._profiles)) or "none"
            raise SnmpConfigError(
                f"{self.source}: unknown credential profile {name!r} (known: {known})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    def __repr__(self) -> str:
        return f"CredentialStore(source={self.source!r}, profiles={sorted(self._profiles)!r})"


def load_credentials(path: Path, environ: Mapping[str, str] | None = None) -> CredentialStore:
    """Read and validate the credential profiles in ``path`` (secrets from ``environ``)."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SnmpConfigError(f"{path}: cannot read SNMP credentials: {exc.strerror}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SnmpConfigError(f"{path}: not valid YAML{where}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("profiles"), dict):
        raise SnmpConfigError(f"{path}: expected a mapping with a 'profiles' mapping at the top")
    extra = set(document) - {"profiles"}
    if extra:
        raise SnmpConfigError(f"{path}: unknown top-level key(s): {', '.join(sorted(extra))}")
    profiles: dict[str, Credential] = {}
    for name, body in document["profiles"].items():
        if not isinstance(name, str) or not name:
            raise SnmpConfigError(f"{path}: profile names must be non-empty strings")
        profiles[name] = _build(path, name, body, env)
    logger.info("loaded %d SNMP credential profile(s) from %s", len(profiles), path)
    return CredentialStore(profiles, source=str(path))


def _build(path: Path, name: str, body: object, env: Mapping[str, str]) -> Credential:
    def fail(reason: str) -> SnmpConfigError:
        return SnmpConfigError(f"{path}: profile {name!r}: {reason}")

    if not isinstance(body, dict):
        raise fail("expected a mapping of settings")
    try:
        raw = _RawProfile.model_validate(body)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'profile'}: {_plain(err)}"
            for err in exc.errors(include_input=False)
        )
        raise fail(reasons) from None

    def secret(field: str, inline: str | None, env_name: str | None) -> SecretStr | None:
        if inline is not None and env_name is not None:
            raise fail(f"give either {field} or {field}_env, not both")
        if env_name is not None:
            value = env.get(env_name)
            if not value:
                raise fail(f"{field}_env: environment variable {env_name} is not set or empty")
            return SecretStr(value)
        return None if inline is None else SecretStr(inline)

    if raw.version == "v2c":
        stray = [f for f in ("user", "auth", "auth_key", "priv", "priv_key") if getattr(raw, f)]
        if stray or raw.auth_key_env or raw.priv_key_env:
            raise fail("v2c profiles take only a community (or community_env)")
        community = secret("community", raw.community, raw.community_env)
        if community is None or not community.get_secret_value():
            raise fail("missing community (or community_env)")
        return V2cCredential(name=name, community=community)

    if raw.community is not None or raw.community_env is not None:
        raise fail("v3 profiles take a user and keys, not a community")
    if not raw.user:
        raise fail("missing user")
    auth_key = secret("auth_key", raw.auth_key, raw.auth_key_env)
    priv_key = secret("priv_key", raw.priv_key, raw.priv_key_env)
    if raw.auth is None and auth_key is not None:
        raise fail("auth_key given without auth (sha, sha256 or sha512)")
    if raw.auth is not None and auth_key is None:
        raise fail(f"auth: {raw.auth} needs auth_key (or auth_key_env)")
    if raw.priv is None and priv_key is not None:
        raise fail("priv_key given without priv (aes or aes256)")
    if raw.priv is not None and raw.auth is None:
        raise fail("priv needs auth too (SNMPv3 has no noAuthPriv level)")
    if raw.priv is not None and priv_key is None:
        raise fail(f"priv: {raw.priv} needs priv_key (or priv_key_env)")
    for field, key in (("auth_key", auth_key), ("priv_key", priv_key)):
        if key is not None and len(key.get_secret_value()) < MIN_KEY_LENGTH:
            raise fail(f"{field} is shorter than {MIN_KEY_LENGTH} characters")
    return V3Credential(
        name=name, user=raw.user, auth=raw.auth, auth_key=auth_key, priv=raw.priv, priv_key=priv_key
    )


def _plain(err: ErrorDetails) -> str:
    """A pydantic error as a short phrase, without echoing the input (it may be a secret)."""
    kind = err.get("type")
    if kind == "extra_forbidden":
        return "unknown setting"
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"must be one of {expected}"
    if kind == "missing":
        return "missing"
    return str(err.get("msg", "invalid"))
