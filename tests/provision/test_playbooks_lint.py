"""ansible-lint (production profile) and ``ansible-playbook --syntax-check`` on every playbook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_neutral

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOKS = sorted((ROOT / "playbooks").glob("*.yml"))

#: The inventory contract (inventory/ builds it from the CMDB), one host per kind of play.
INVENTORY = """\
all:
  children:
    dc_primary: {hosts: {dc-srv1: {}}}
    role_server: {hosts: {dc-srv1: {}}}
    platform_linux: {hosts: {dc-srv1: {}}}
    fap: {hosts: {fap-001-rtr: {}}}
    role_router: {hosts: {fap-001-rtr: {}}}
    platform_frr_vtysh: {hosts: {fap-001-rtr: {}}}
    role_awp: {hosts: {fap-001-awp1: {}}}
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_ROLES_PATH"] = str(ROOT / "playbooks" / "roles")
    env["ANSIBLE_LOCAL_TEMP"] = env["ANSIBLE_REMOTE_TEMP"] = "/tmp"
    env.pop("ANSIBLE_CONFIG", None)
    return env


def test_every_playbook_is_listed() -> None:
    assert {p.name for p in PLAYBOOKS} >= {"site.yml", "fap.yml", "dc.yml", "awp.yml"}


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_syntax_check(playbook: Path, tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inventory), str(playbook)],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_ansible_lint_production_profile() -> None:
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--profile=production", "--nocolor", "playbooks", "molecule"],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
