"""The router push against a real router CLI: FRR's vtysh over SSH in a network namespace.

The FRR router (zebra + staticd) runs in its own namespace: eth0 (169.254.181.2) is the
management link sshd listens on, eth1 and eth2 are the primary and backup channels
(169.254.183.0/30, 169.254.182.0/30); sshd's ForceCommand is vtysh, so netmiko talks to vtysh
exactly as to a router. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from provision import routers
from tests.provision.conftest import FrrRouter

pytestmark = [pytest.mark.backend_neutral, pytest.mark.slow]

#: A FAP router's configuration as the fap_router role renders it for frr_vtysh (canonical form).
CANDIDATE = """\
log syslog informational
interface eth1
 description primary Rostelecom FAP-001-P
 ip address 169.254.183.2/30
exit
interface eth2
 description backup MTS-LTE FAP-001-B
 ip address 169.254.182.2/30
exit
ip route 169.254.250.0/24 169.254.183.1 eth1
ip route 169.254.250.0/24 169.254.182.1 eth2 250
"""
MANAGED = ("ip route ", "log syslog")
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _target(router: FrrRouter) -> routers.Target:
    return routers.Target(
        host=router.host.address,
        platform="frr_vtysh",
        username=router.host.user,
        key_file=router.host.identity_file,
        known_hosts=False,
    )


def test_check_mode_shows_the_diff_and_changes_nothing(frr_router: FrrRouter) -> None:
    before = frr_router.vtysh("show running-config")
    result = routers.push_to(_target(frr_router), CANDIDATE, check=True, managed_prefixes=MANAGED)
    assert result.changed
    assert not result.applied
    assert "+ip route 169.254.250.0/24 169.254.182.1 eth2 250" in result.diff
    assert "+ description primary Rostelecom FAP-001-P" in result.diff
    assert frr_router.vtysh("show running-config") == before


def test_apply_verify_then_idempotent_and_failover_by_distance(frr_router: FrrRouter) -> None:
    frr_router.vtysh("configure terminal", "ip route 169.254.251.0/24 169.254.183.1")  # stale
    first = routers.push_to(_target(frr_router), CANDIDATE, managed_prefixes=MANAGED, save=True)
    assert first.changed
    assert first.applied
    assert "no ip route 169.254.251.0/24 169.254.183.1" in first.commands
    running = frr_router.vtysh("show running-config")
    assert " ip address 169.254.182.2/30" in running
    assert "ip route 169.254.250.0/24 169.254.182.1 eth2 250" in running
    assert "169.254.251.0/24" not in running
    assert "ip route 169.254.250.0/24" in (frr_router.confdir / "frr.conf").read_text()

    second = routers.push_to(_target(frr_router), CANDIDATE, managed_prefixes=MANAGED)
    assert not second.changed
    assert second.commands == ()

    # The primary channel goes down: zebra withdraws the primary route, the backup carries.
    route = frr_router.vtysh("show ip route 169.254.250.0/24")
    selected = [line for line in route.splitlines() if line.lstrip().startswith("*")]
    assert any("169.254.183.1" in line for line in selected), route
    frr_router.ip("link", "set", "eth1", "down")
    route = frr_router.vtysh("show ip route 169.254.250.0/24")
    selected = [line for line in route.splitlines() if line.lstrip().startswith("*")]
    assert any("169.254.182.1" in line for line in selected), route


def test_refused_command_rolls_back_to_the_saved_config(frr_router: FrrRouter) -> None:
    before = frr_router.vtysh("show running-config")
    bad = CANDIDATE + "ip route 169.254.252.0/24 169.254.183.1 eth1 300\n"  # distance > 255
    with pytest.raises(routers.PushFailed) as failed:
        routers.push_to(_target(frr_router), bad, managed_prefixes=MANAGED)
    assert failed.value.rolled_back
    assert "169.254.252.0/24" in str(failed.value)
    assert frr_router.vtysh("show running-config") == before


def test_unverifiable_line_rolls_back(frr_router: FrrRouter) -> None:
    """FRR accepts distance 1 but does not show it: the push cannot verify, so it rolls back."""
    before = frr_router.vtysh("show running-config")
    odd = CANDIDATE + "ip route 169.254.253.0/24 169.254.183.1 eth1 1\n"
    with pytest.raises(routers.PushFailed) as failed:
        routers.push_to(_target(frr_router), odd, managed_prefixes=MANAGED)
    assert failed.value.rolled_back
    assert "does not hold the candidate" in str(failed.value)
    assert frr_router.vtysh("show running-config") == before


def _playbook(router: FrrRouter, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run playbooks/fap.yml against the router with a static inventory of the CMDB's shape."""
    inventory = {
        "all": {
            "children": {
                "fap": {"hosts": {"fap-001-rtr": None}},
                "role_router": {"hosts": {"fap-001-rtr": None}},
                "platform_frr_vtysh": {"hosts": {"fap-001-rtr": None}},
            },
            "hosts": {
                "fap-001-rtr": {
                    "ansible_host": router.host.address,
                    "ansible_user": router.host.user,
                    "ansible_ssh_private_key_file": router.host.identity_file,
                    "ansible_network_os": "frr",
                    "kontur_platform": "frr_vtysh",
                    "kontur_snmp_profile": "fap-v3",
                    "kontur_site": {"code": "FAP-001", "kind": "fap", "name": "ФАП с. Тестовое"},
                    "kontur_channels": [
                        {"key": "FAP-001-B", "role": "backup", "interface": "eth2",
                         "provider": "MTS-LTE",
                         "addresses": {"local": "169.254.182.2", "peer": "169.254.182.1"}},
                        {"key": "FAP-001-P", "role": "primary", "interface": "eth1",
                         "provider": "Rostelecom",
                         "addresses": {"local": "169.254.183.2/30", "peer": "169.254.183.1"}},
                    ],
                    "fap_router_routed_prefixes": ["169.254.250.0/24"],
                    "fap_router_known_hosts": False,
                    "fap_router_render_dir": str(tmp_path / "rendered"),
                }
            },
        }
    }  # fmt: skip
    path = tmp_path / "hosts.yml"
    path.write_text(json.dumps(inventory), encoding="utf-8")
    (tmp_path / "rendered").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1")
    env.update(ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"), ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(path), str(ROOT / "playbooks" / "fap.yml"),
         *extra],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=180, check=False,
    )  # fmt: skip


def _recap(output: str) -> dict[str, int]:
    match = re.search(r"fap-001-rtr\s*:\s*(.*)", output.rsplit("PLAY RECAP", maxsplit=1)[-1])
    assert match, output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def test_fap_playbook_check_diff_apply_idempotent(frr_router: FrrRouter, tmp_path: Path) -> None:
    before = frr_router.vtysh("show running-config")
    check = _playbook(frr_router, tmp_path, "--check", "--diff")
    assert check.returncode == 0, check.stdout + check.stderr
    assert _recap(check.stdout)["changed"] == 2  # the rendered copy and the push, both unmade
    assert not (tmp_path / "rendered" / "fap-001-rtr.conf").exists()
    assert "+ip route 169.254.250.0/24 169.254.182.1 eth2 250" in check.stdout
    assert "+ ip address 169.254.182.2/30" in check.stdout  # the default /30 was added
    assert frr_router.vtysh("show running-config") == before

    run = _playbook(frr_router, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert _recap(run.stdout)["changed"] >= 1
    running = frr_router.vtysh("show running-config")
    assert " description primary Rostelecom FAP-001-P" in running
    assert "ip route 169.254.250.0/24 169.254.183.1 eth1\n" in running
    rendered = (tmp_path / "rendered" / "fap-001-rtr.conf").read_text(encoding="utf-8")
    assert rendered.index("interface eth1") < rendered.index("interface eth2")  # primary first

    again = _playbook(frr_router, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert _recap(again.stdout)["changed"] == 0
