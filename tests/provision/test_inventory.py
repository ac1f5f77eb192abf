"""The CMDB inventory through the real ``ansible-inventory`` (script plugin) and ``kontur``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from cmdb.agent_tokens import create_token
from cmdb.users import create_user
from provision.inventory import district_groups, district_slug, slugify
from tests.factories import load, make_world

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVENTORY = ROOT / "inventory"


def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONTUR_")}
    env["KONTUR_DATABASE_URL"] = db_url
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_LOCAL_TEMP"] = extra.pop("tmp", "/tmp")
    env.update(extra)
    return env


def _ansible_inventory(db_url: str, tmp_path: Path, *args: str, **extra: str) -> str:
    done = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(INVENTORY), *args],
        capture_output=True,
        text=True,
        env=_env(db_url, tmp=str(tmp_path), **extra),
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    return done.stdout


def _kontur(db_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "kontur"), *args],
        capture_output=True,
        text=True,
        env=_env(db_url, tmp=str(tmp_path)),
        cwd=tmp_path,
        check=False,
        timeout=120,
    )


def _members(listing: dict[str, Any]) -> dict[str, set[str]]:
    return {
        name: set(group["hosts"])
        for name, group in listing.items()
        if name not in ("_meta", "all") and group.get("hosts")
    }


@pytest.mark.backend_neutral
@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Абинский район", "abinsky"),
        ("городской округ Горячий Ключ", "goryachy_klyuch"),
        ("Приморско-Ахтарский район", "primorsko_akhtarsky"),
        ("Кущёвский район", "kushchevsky"),
        ("Усть-Лабинский район", "ust_labinsky"),
        ("городской округ Краснодар", "krasnodar"),
        ("муниципальный округ Щербиновский", "shcherbinovsky"),
    ],
)
def test_district_slug_is_the_transliterated_name_without_its_kind(name: str, slug: str) -> None:
    assert district_slug(name) == slug


@pytest.mark.backend_neutral
def test_district_groups_stay_unique_and_stable_when_names_collide() -> None:
    before = district_groups([("23-R01", "Абинский район")])
    after = district_groups(
        [("23-R01", "Абинский район"), ("23-R99", "Абинский муниципальный округ")]
    )
    assert before == {"23-R01": "district_abinsky"}
    assert after == {"23-R01": "district_abinsky", "23-R99": "district_abinsky_23_r99"}
    assert slugify("MO-1") == "mo_1"


@pytest.mark.slow
def test_ansible_inventory_lists_the_cmdb_as_kontur_inventory_does(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    make_world(engine)
    listing = json.loads(_ansible_inventory(db_url, tmp_path, "--list"))
    ours = _kontur(db_url, tmp_path, "inventory", "--list")
    assert ours.returncode == 0, ours.stderr
    kontur = json.loads(ours.stdout)

    assert listing["_meta"]["hostvars"] == kontur["_meta"]["hostvars"]
    assert _members(listing) == _members(kontur)

    groups = _members(listing)
    every_host = {
        "dc-rtr1", "dc-hw1", "fap-0001-rtr", "arm-mo-1-001", "arm-mo-1-002", "arm-fap-0001-001",
    }  # fmt: skip
    assert set(listing["_meta"]["hostvars"]) == every_host
    assert groups["fap"] == {"fap-0001-rtr", "arm-fap-0001-001"}
    assert groups["dc_primary"] == {"dc-rtr1", "dc-hw1"}
    assert groups["mo_main"] == {"arm-mo-1-001", "arm-mo-1-002"}
    assert groups["district_abinsky"] == {
        "fap-0001-rtr", "arm-fap-0001-001", "arm-mo-1-001", "arm-mo-1-002",
    }  # fmt: skip
    assert groups["district_krasnodar"] == {"dc-rtr1", "dc-hw1"}
    assert groups["mo_mo_1"] == groups["district_abinsky"]
    assert groups["role_router"] == {"dc-rtr1", "fap-0001-rtr"}
    assert groups["role_vipnet_coordinator"] == {"dc-hw1"}
    assert groups["role_awp"] == {"arm-mo-1-001", "arm-mo-1-002", "arm-fap-0001-001"}
    assert groups["platform_mikrotik_routeros"] == {"fap-0001-rtr"}
    assert groups["vipnet_1988"] == {"dc-hw1", "arm-fap-0001-001"}

    fap = listing["_meta"]["hostvars"]["fap-0001-rtr"]
    assert fap["ansible_host"] == "127.23.0.3"
    assert fap["ansible_network_os"] == "community.routeros.routeros"
    assert fap["kontur_platform"] == "mikrotik_routeros"
    assert fap["kontur_site"]["code"] == "FAP-0001"
    assert fap["kontur_site"]["kind"] == "fap"
    assert fap["kontur_site"]["district_group"] == "district_abinsky"
    assert fap["kontur_object"] == {"kind": "device", "key": "fap-0001-rtr", "role": "router"}
    channels = {c["key"]: c for c in fap["kontur_channels"]}
    assert channels["CH-FAP-0001-1"]["role"] == "primary"
    assert channels["CH-FAP-0001-1"]["provider"] == "PRV-1"
    # the backup channel names no device at the FAP's end: the FAP's router terminates it
    assert channels["CH-FAP-0001-2"]["role"] == "backup"
    assert channels["CH-FAP-0001-2"]["medium"] == "lte"

    dc = listing["_meta"]["hostvars"]["dc-rtr1"]
    assert dc["kontur_snmp_profile"] == "v3-dc"
    # the DC's router: named at the first channel's end, the site's router at the second's
    assert [(c["key"], c["end"]) for c in dc["kontur_channels"]] == [
        ("CH-FAP-0001-1", "z"),
        ("CH-FAP-0001-2", "z"),
    ]
    awp = listing["_meta"]["hostvars"]["arm-fap-0001-001"]
    assert awp["kontur_vipnet"] == {"id": "0x07c40002", "kind": "client", "network": 1988}
    assert "ansible_host" not in awp
    assert "ansible_network_os" not in listing["_meta"]["hostvars"]["dc-hw1"]


@pytest.mark.slow
def test_graph_and_host(engine: Engine, db_url: str, tmp_path: Path) -> None:
    make_world(engine)
    graph = _ansible_inventory(db_url, tmp_path, "--graph", "district_abinsky")
    assert graph.splitlines()[0] == "@district_abinsky:"
    assert "  |--fap-0001-rtr" in graph.splitlines()
    host = json.loads(_ansible_inventory(db_url, tmp_path, "--host", "dc-rtr1"))
    assert host["ansible_host"] == "127.23.0.1"
    assert host["kontur_object"]["key"] == "dc-rtr1"


def test_decommissioned_devices_are_left_out(engine: Engine, db_url: str, tmp_path: Path) -> None:
    make_world(engine)
    load(engine, "devices", [{"name": "dc-rtr1", "status": "decommissioned"}])
    listing = json.loads(_kontur(db_url, tmp_path, "inventory", "--list").stdout)
    assert "dc-rtr1" not in listing["_meta"]["hostvars"]
    assert _members(listing)["role_router"] == {"fap-0001-rtr"}


@pytest.mark.slow
def test_no_secret_reaches_the_inventory(engine: Engine, db_url: str, tmp_path: Path) -> None:
    make_world(engine)
    _, token = create_token(
        engine, "arm-fap", object_kind="workstation", object_key="arm-fap-0001-001", actor="t"
    )
    create_user(engine, "sec", "security_officer", password="correct-horse-42", actor="t")
    community, auth_key, priv_key = "c0mmunity-s3cret", "auth-s3cret-key", "priv-s3cret-key"
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(
        "profiles:\n"
        f"  v2c-region:\n    version: v2c\n    community: {community}\n"
        f"  v3-dc:\n    version: v3\n    user: kontur\n    auth: sha256\n"
        f"    auth_key: {auth_key}\n    priv: aes\n    priv_key: {priv_key}\n",
        encoding="utf-8",
    )
    output = _ansible_inventory(
        db_url,
        tmp_path,
        "--list",
        KONTUR_COLLECTOR__SNMP__CREDENTIALS_FILE=str(credentials),
        KONTUR_SNMP_FAP_COMMUNITY=community,
    )
    assert '"kontur_snmp_profile": "v3-dc"' in output  # the profile's name, nothing more
    for secret in (token, community, auth_key, priv_key, "correct-horse-42", "argon2"):
        assert secret not in output
    assert "auth_key" not in output
    assert '"community":' not in output


@pytest.mark.slow
def test_cmdb_text_is_never_templated(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """A site name with a Jinja expression reaches a play as the literal text."""
    make_world(engine)
    sneaky = "ФАП {{ lookup('ansible.builtin.env', 'HOME') }}"
    load(engine, "sites", [{"code": "FAP-0001", "name": sneaky}])
    done = subprocess.run(
        [
            str(BIN / "ansible"), "fap-0001-rtr", "-i", str(INVENTORY), "-c", "local",
            "-m", "ansible.builtin.debug", "-a", "var=kontur_site.name",
            "-e", f"ansible_python_interpreter={sys.executable}",
        ],
        capture_output=True, text=True, env=_env(db_url, tmp=str(tmp_path)), cwd=tmp_path,
        check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lookup('ansible.builtin.env', 'HOME')" in done.stdout
    assert os.environ.get("HOME", "/root") not in done.stdout.replace(str(tmp_path), "")


def test_the_script_names_an_unmigrated_database(blank_db_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(INVENTORY / "kontur_cmdb.py"), "--list"],
        capture_output=True,
        text=True,
        env=_env(blank_db_url, tmp=str(tmp_path)),
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "база данных не подготовлена" in done.stderr
    assert "kontur db upgrade" in done.stderr
