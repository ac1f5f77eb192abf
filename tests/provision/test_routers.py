"""The router push planner: parsing, planning, diffs and roll back targets (pure functions).

The push itself runs against a real FRR in test_routers_frr.py; these cover the cases a single
router session would take long to reach (Cisco-style output, duplicate sections, unknown keys).
"""

from __future__ import annotations

import pytest

from provision import routers

pytestmark = pytest.mark.backend_neutral

FRR = routers.DIALECTS["frr_vtysh"]

RUNNING = """\
Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname fap1
log syslog informational
no ip forwarding
ip route 169.254.250.0/24 169.254.183.1 eth1
ip route 169.254.251.0/24 169.254.183.1 eth1
!
interface eth1
 description old text
 ip address 169.254.183.2/30
exit
!
interface lo
 ip address 169.254.255.1/32
exit
!
end
"""

CANDIDATE = """\
log syslog informational
interface eth1
 description primary FAP-1-P
 ip address 169.254.183.2/30
exit
ip route 169.254.250.0/24 169.254.183.1 eth1
ip route 169.254.250.0/24 169.254.182.1 eth2 250
"""


def test_parse_drops_markers_and_groups_sections() -> None:
    config = routers.parse(RUNNING, FRR)
    lines = [b.line for b in config]
    assert lines == [
        "log syslog informational",
        "no ip forwarding",
        "ip route 169.254.250.0/24 169.254.183.1 eth1",
        "ip route 169.254.251.0/24 169.254.183.1 eth1",
        "interface eth1",
        "interface lo",
    ]
    assert config[4].children == ("description old text", "ip address 169.254.183.2/30")


def test_parse_merges_a_section_shown_twice() -> None:
    text = "interface eth1\n ip address 169.254.183.2/30\nexit\ninterface eth1\n shutdown\nexit\n"
    (block,) = routers.parse(text, FRR)
    assert block.children == ("ip address 169.254.183.2/30", "shutdown")


def test_plan_removes_stale_managed_lines_first_and_leaves_the_rest() -> None:
    plan = routers.plan(
        routers.parse(RUNNING, FRR), routers.parse(CANDIDATE, FRR), FRR, ("ip route ",)
    )
    assert plan.commands == (
        "no ip route 169.254.251.0/24 169.254.183.1 eth1",
        "interface eth1",
        "no description",
        "description primary FAP-1-P",
        "exit",
        "ip route 169.254.250.0/24 169.254.182.1 eth2 250",
    )
    expected = {b.line: b for b in plan.expected}
    assert "interface lo" in expected  # not in the candidate: not managed
    assert "no ip forwarding" in expected
    assert expected["interface eth1"].children == (
        "ip address 169.254.183.2/30",
        "description primary FAP-1-P",
    )


def test_plan_of_what_is_already_there_is_empty() -> None:
    running = routers.parse(RUNNING, FRR)
    target = routers.parse("interface lo\n ip address 169.254.255.1/32\nexit\n", FRR)
    assert routers.plan(running, target, FRR).commands == ()


def test_diff_shows_the_change_as_the_router_would_show_it() -> None:
    running = routers.parse(RUNNING, FRR)
    plan = routers.plan(running, routers.parse(CANDIDATE, FRR), FRR, ("ip route ",))
    diff = routers.unified_diff(running, plan.expected, FRR, host="fap1")
    assert diff.startswith("--- fap1: running\n+++ fap1: candidate\n")
    assert "-ip route 169.254.251.0/24 169.254.183.1 eth1\n" in diff
    assert "+ip route 169.254.250.0/24 169.254.182.1 eth2 250\n" in diff
    assert "- description old text\n" in diff
    assert routers.unified_diff(running, running, FRR) == ""


def test_rollback_target_empties_sections_the_push_created() -> None:
    saved = routers.parse(RUNNING, FRR)
    candidate = routers.parse(
        CANDIDATE + "interface eth2\n ip address 169.254.182.2/30\nexit\n", FRR
    )
    target = {b.line: b for b in routers.rollback_target(saved, candidate, ("ip route ",))}
    assert target["interface eth2"].is_section
    assert target["interface eth2"].children == ()
    assert target["interface eth1"].children == (
        "description old text",
        "ip address 169.254.183.2/30",
    )
    assert "ip route 169.254.251.0/24 169.254.183.1 eth1" in target
    assert "interface lo" not in target
    assert "no ip forwarding" not in target
    # after a partial push, planning towards the target undoes exactly the push
    after = routers.parse(
        RUNNING + "interface eth2\n ip address 169.254.182.2/30\nexit\n"
        "ip route 169.254.250.0/24 169.254.182.1 eth2 250\n",
        FRR,
    )
    undo = routers.plan(
        after, tuple(target.values()), FRR, ("ip route ",), ["log syslog informational"]
    )
    assert undo.commands == (
        "no ip route 169.254.250.0/24 169.254.182.1 eth2 250",
        "interface eth2",
        "no ip address 169.254.182.2/30",
        "exit",
    )


def test_cisco_markers_are_not_configuration() -> None:
    ios = routers.DIALECTS["cisco_ios"]
    text = "! Last configuration change at 10:00\nversion 15.2\nntp server 169.254.1.1\nend\n"
    assert [b.line for b in routers.parse(text, ios)] == ["ntp server 169.254.1.1"]


def test_unknown_platform_lists_the_supported_ones() -> None:
    with pytest.raises(routers.UnknownPlatformError, match="cisco_ios, eltex_esr, frr_vtysh"):
        routers.dialect_for("mikrotik_routeros")


def test_target_repr_hides_the_password() -> None:
    secret = "s3cr3t-" + "value"
    target = routers.Target(host="169.254.1.2", platform="cisco_ios", username="u", password=secret)
    assert secret not in repr(target)
