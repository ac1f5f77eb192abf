"""Credential profiles and poll plans: what loads, and clear errors (file, profile, reason) for
what does not; secrets never appear in reprs, errors or logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cmdb.platforms import PLATFORMS
from collectors.settings import SnmpSettings
from collectors.snmp.credentials import (
    CredentialStore,
    V2cCredential,
    V3Credential,
    load_credentials,
)
from collectors.snmp.errors import SnmpConfigError
from collectors.snmp.profiles import SYS_UPTIME, load_profiles

SECRETS = ("community-secret", "auth-secret-1", "priv-secret-1", "env-auth-key-1")

GOOD = """\
profiles:
  fap-ro:
    version: v2c
    community: community-secret
  core-v3:
    version: v3
    user: kontur
    auth: sha256
    auth_key: auth-secret-1
    priv: aes256
    priv_key: priv-secret-1
  env-v3:
    version: v3
    user: kontur
    auth: sha512
    auth_key_env: KONTUR_TEST_AUTH
  env-v2c:
    version: v2c
    community_env: KONTUR_TEST_COMMUNITY
  plain-v3:
    version: v3
    user: monitor
"""
ENV = {"KONTUR_TEST_AUTH": "env-auth-key-1", "KONTUR_TEST_COMMUNITY": "community-secret"}


def write(tmp_path: Path, text: str, name: str = "snmp-credentials.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_profiles_load_with_their_versions_levels_and_env_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    store = load_credentials(write(tmp_path, GOOD), ENV)

    assert sorted(store) == ["core-v3", "env-v2c", "env-v3", "fap-ro", "plain-v3"]
    fap = store["fap-ro"]
    assert isinstance(fap, V2cCredential)
    assert fap.community.get_secret_value() == "community-secret"
    core = store["core-v3"]
    assert isinstance(core, V3Credential)
    assert (core.user, core.auth, core.priv, core.level) == (
        "kontur",
        "sha256",
        "aes256",
        "authPriv",
    )
    env_v3 = store["env-v3"]
    assert isinstance(env_v3, V3Credential)
    assert env_v3.level == "authNoPriv"
    assert env_v3.auth_key is not None
    assert env_v3.auth_key.get_secret_value() == "env-auth-key-1"
    env_v2c = store["env-v2c"]
    assert isinstance(env_v2c, V2cCredential)
    assert env_v2c.community.get_secret_value() == "community-secret"
    plain = store["plain-v3"]
    assert isinstance(plain, V3Credential)
    assert plain.level == "noAuthNoPriv"
    shown = repr(store) + "".join(repr(store[n]) + str(store[n]) for n in store) + caplog.text
    assert not any(secret in shown for secret in SECRETS)


def test_settings_without_a_credentials_file_is_a_clear_error() -> None:
    with pytest.raises(SnmpConfigError, match="CREDENTIALS_FILE"):
        CredentialStore.from_settings(SnmpSettings())


def test_settings_credentials_file_is_loaded(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    store = CredentialStore.from_settings(SnmpSettings(credentials_file=path), ENV)

    assert store.source == str(path)
    assert "fap-ro" in store


def test_unknown_profile_names_the_known_ones(tmp_path: Path) -> None:
    store = load_credentials(write(tmp_path, GOOD), ENV)

    with pytest.raises(SnmpConfigError, match="unknown credential profile 'nope'") as info:
        store["nope"]
    assert "core-v3, env-v2c, env-v3, fap-ro, plain-v3" in str(info.value)


V3 = "    version: v3\n    user: kontur\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (V3 + "    auth: md5\n    auth_key: abcdefgh1\n", "auth: must be one of 'sha', 'sha256'"),
        (
            V3 + "    auth: sha\n    auth_key: abcdefgh1\n    priv: des\n    priv_key: abcdefgh2\n",
            "priv: must be one of 'aes' or 'aes256'",
        ),
        (V3 + "    auth: sha\n    auth_key: short\n", "auth_key is shorter than 8 characters"),
        (
            V3 + "    auth: sha\n    auth_key: abcdefgh1\n    priv: aes\n    priv_key: 1234567\n",
            "priv_key is shorter than 8 characters",
        ),
        (V3 + "    auth: sha\n", "auth: sha needs auth_key"),
        (
            V3 + "    auth: sha\n    auth_key: abcdefgh1\n    priv: aes\n",
            "priv: aes needs priv_key",
        ),
        (V3 + "    priv: aes\n    priv_key: abcdefgh1\n", "priv needs auth too"),
        (V3 + "    auth_key: abcdefgh1\n", "auth_key given without auth"),
        ("    version: v3\n", "missing user"),
        ("    version: v2c\n", "missing community"),
        ("    version: v2c\n    community: ''\n", "missing community"),
        ("    community: x\n", "version: missing"),
        ("    version: v1\n    community: x\n", "version: must be one of 'v2c' or 'v3'"),
        ("    version: v2c\n    comunity: x\n", "comunity: unknown setting"),
        ("    version: v2c\n    community: x\n    user: u\n", "v2c profiles take only a community"),
        (V3 + "    community: x\n", "v3 profiles take a user and keys, not a community"),
        (
            V3 + "    auth: sha\n    auth_key: abcdefgh1\n    auth_key_env: KONTUR_TEST_AUTH\n",
            "give either auth_key or auth_key_env, not both",
        ),
        (
            V3 + "    auth: sha\n    auth_key_env: KONTUR_TEST_UNSET\n",
            "environment variable KONTUR_TEST_UNSET is not set",
        ),
        ("    - version\n", "expected a mapping of settings"),
    ],
)
def test_bad_profiles_name_file_profile_and_reason(tmp_path: Path, body: str, reason: str) -> None:
    path = write(tmp_path, "profiles:\n  broken:\n" + body)

    with pytest.raises(SnmpConfigError) as info:
        load_credentials(path, ENV)

    message = str(info.value)
    assert message.startswith(f"{path}: profile 'broken': ")
    assert reason in message
    assert "abcdefgh" not in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("profiles: [\n", "not valid YAML (line 2)"),
        ("- a\n", "expected a mapping with a 'profiles' mapping"),
        ("profiles: {}\nextra: 1\n", "unknown top-level key(s): extra"),
    ],
)
def test_bad_credential_files_name_the_file(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(SnmpConfigError) as info:
        load_credentials(path, {})

    assert str(info.value).startswith(str(path))
    assert reason in str(info.value)


def test_a_missing_credentials_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"

    with pytest.raises(SnmpConfigError, match="cannot read SNMP credentials") as info:
        load_credentials(path, {})
    assert str(path) in str(info.value)


# -- poll plans ---------------------------------------------------------------------------------


def test_packaged_plans_cover_every_platform_and_always_poll_uptime() -> None:
    profiles = load_profiles()

    for platform in PLATFORMS:
        plan = profiles.plan(platform)
        assert plan.scalar_oids()[0] == SYS_UPTIME
        assert plan.interfaces.in_octets_hc == "1.3.6.1.2.1.31.1.1.1.6"
        assert plan.interfaces.oper_status == "1.3.6.1.2.1.2.2.1.8"
    linux = profiles.plan("linux")
    assert linux.cpu is not None
    assert linux.cpu.table == "1.3.6.1.2.1.25.3.3.1.2"
    assert linux.memory is not None
    assert linux.memory.oids() == ("1.3.6.1.4.1.2021.4.5.0", "1.3.6.1.4.1.2021.4.6.0")
    assert profiles.plan("huawei_vrp").platform == "generic_snmp"


def test_vipnet_plan_is_a_clearly_marked_placeholder_under_infotecs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)

    plan = load_profiles().plan("vipnet_coordinator_hw")

    assert plan.placeholder
    assert plan.extra
    assert all(name.startswith("vipnet_placeholder_") for name in plan.extra)
    assert all(oid.startswith("1.3.6.1.4.1.10812.") for oid in plan.extra.values())
    assert "vipnet_coordinator_hw" in caplog.text
    assert "placeholder" in caplog.text


def test_an_override_file_replaces_the_vipnet_placeholder(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nplatforms:\n  vipnet_coordinator_hw:\n"
        "    extra:\n      tunnels_active: 1.3.6.1.4.1.10812.42.1.0\n",
        "site-profiles.yml",
    )

    profiles = load_profiles(path)

    plan = profiles.plan("vipnet_coordinator_hw")
    assert dict(plan.extra) == {"tunnels_active": "1.3.6.1.4.1.10812.42.1.0"}
    assert not plan.placeholder
    assert profiles.plan("linux").memory is not None  # untouched platforms keep the packaged plan
    assert profiles.sources[-1] == str(path)


def test_unknown_platform_lists_the_valid_ones() -> None:
    with pytest.raises(SnmpConfigError, match="unknown platform 'cisco_xr'; valid: apc_ups, "):
        load_profiles().plan("cisco_xr")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("platforms:\n  cisco_xr: {}\n", "platform 'cisco_xr': unknown platform; valid: apc_ups"),
        ("platforms:\n  linux:\n    extra:\n      x: 1.3.6.y\n", "platform 'linux': extra.x:"),
        (
            "platforms:\n  linux:\n    memory:\n      total: 1.3.6.1.1\n",
            "platform 'linux': memory: give exactly one of {total, available}",
        ),
        (
            "platforms:\n  linux:\n    cpu:\n      oid: 1.3.6.1.1.0\n      table: 1.3.6.1.2\n",
            "platform 'linux': cpu: give exactly one of oid (a scalar) or table",
        ),
        (
            "platforms:\n  linux:\n    cpu:\n      table: 1.3.6.1.2\n      aggregate: median\n",
            "platform 'linux': cpu.aggregate: Input should be 'mean' or 'max'",
        ),
        ("platforms:\n  linux:\n    extra:\n      Bad-Name: 1.3.6.1.1.0\n", "extra.Bad-Name"),
        ("platforms:\n  linux:\n    polling: fast\n", "platform 'linux': polling: Extra inputs"),
        ("platforms: {}\nversion: 2\n", "version: Input should be 1"),
    ],
)
def test_bad_override_files_name_file_platform_and_reason(
    tmp_path: Path, body: str, reason: str
) -> None:
    text = body if "version" in body else "version: 1\n" + body
    path = write(tmp_path, text, "site-profiles.yml")

    with pytest.raises(SnmpConfigError) as info:
        load_profiles(path)

    assert str(info.value).startswith(f"{path}: ")
    assert reason in str(info.value)


def test_invalid_oid_in_an_override_says_why(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nplatforms:\n  linux:\n    extra:\n      x: 1.3.6.y\n")

    with pytest.raises(SnmpConfigError, match=r"invalid OID '1\.3\.6\.y'"):
        load_profiles(path)
