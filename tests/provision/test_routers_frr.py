"""The router push against a real router CLI: FRR's vtysh over SSH in a network namespace.

The FRR router (zebra + staticd) runs in its own namespace: eth0 (169.254.181.2) is the
management link sshd listens on, eth1 and eth2 are the primary and backup channels
(169.254.183.0/30, 169.254.182.0/30); sshd's ForceCommand is vtysh, so netmiko talks to vtysh
exactly as to a router. Nothing is mocked.
"""

from __future__ import annotations

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
