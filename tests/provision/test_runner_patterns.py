"""Which hosts a run targets (host patterns, play targets) and the limit that keeps refused out."""

from __future__ import annotations

from pathlib import Path

import pytest

from provision.patterns import play_patterns, resolve, split, targets
from provision.runner import _limit_for, render_diff

pytestmark = pytest.mark.backend_neutral

GROUPS = {
    "fap": ["fap-0001-rtr", "arm-fap-0001-001", "fap-0002-rtr"],
    "district_abinsky": ["fap-0001-rtr", "arm-fap-0001-001", "arm-mo-1-001"],
    "role_router": ["fap-0001-rtr", "fap-0002-rtr", "dc-rtr1"],
}
HOSTS = {h for members in GROUPS.values() for h in members}


def test_split_like_ansible() -> None:
    assert split("fap:&district_abinsky:!dc-rtr1") == ["fap", "&district_abinsky", "!dc-rtr1"]
    assert split("fap, role_router") == ["fap", "role_router"]
    assert split("web[1:3]") == ["web[1:3]"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("all", HOSTS),
        ("fap", {"fap-0001-rtr", "arm-fap-0001-001", "fap-0002-rtr"}),
        ("fap:&district_abinsky", {"fap-0001-rtr", "arm-fap-0001-001"}),
        ("fap:&role_router:!fap-0002-rtr", {"fap-0001-rtr"}),
        (
            "district_abinsky,dc-rtr1",
            {"fap-0001-rtr", "arm-fap-0001-001", "arm-mo-1-001", "dc-rtr1"},
        ),
        ("fap-000*", {"fap-0001-rtr", "fap-0002-rtr"}),
        ("~^arm-", {"arm-fap-0001-001", "arm-mo-1-001"}),
        ("!role_router", HOSTS - set(GROUPS["role_router"])),
        ("nothing-like-this", set()),
    ],
)
def test_resolve(pattern: str, expected: set[str]) -> None:
    assert resolve(pattern, GROUPS, HOSTS) == expected


def test_limit_file_and_play_targets(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts.txt"
    hosts_file.write_text("dc-rtr1\n\narm-mo-1-001\n", encoding="utf-8")
    assert resolve(f"@{hosts_file}", GROUPS, HOSTS) == {"dc-rtr1", "arm-mo-1-001"}

    (tmp_path / "routers.yml").write_text("- hosts: role_router\n  tasks: []\n", encoding="utf-8")
    site = tmp_path / "site.yml"
    site.write_text(
        "- ansible.builtin.import_playbook: routers.yml\n- hosts: [fap, '!fap-0002-rtr']\n",
        encoding="utf-8",
    )
    assert play_patterns(site) == ["role_router", "fap,!fap-0002-rtr"]
    assert targets(site, "district_abinsky", GROUPS, HOSTS) == {"fap-0001-rtr", "arm-fap-0001-001"}
    templated = tmp_path / "templated.yml"
    templated.write_text("- hosts: '{{ target }}'\n  tasks: []\n", encoding="utf-8")
    assert play_patterns(templated) == ["all"]


def test_the_limit_never_lets_a_refused_host_in(tmp_path: Path) -> None:
    # nothing refused: the user's limit as given
    assert _limit_for("fap", {"fap-0001-rtr"}, set(), tmp_path) == "fap"
    # few allowed: exactly those
    limit = _limit_for("fap", {"fap-0001-rtr"}, {"a", "b", "c"}, tmp_path)
    assert limit == f"@{tmp_path / 'limit.txt'}"
    assert (tmp_path / "limit.txt").read_text(encoding="utf-8") == "fap-0001-rtr"
    # few refused: the user's limit minus every refused host, in Ansible's own syntax
    limit = _limit_for("fap:&role_router", {"a", "b", "c"}, {"arm-fap-0001-001"}, tmp_path)
    assert limit == f"fap:&role_router:@{tmp_path / 'limit.txt'}"
    assert (tmp_path / "limit.txt").read_text(encoding="utf-8") == "!arm-fap-0001-001"
    assert _limit_for("fap,dc-rtr1", {"a", "b"}, {"x"}, tmp_path).startswith("fap,dc-rtr1,@")
    # no allowed target resolved here (a pattern this module does not know): exclusions only
    assert _limit_for("web[0:2]", set(), {"x"}, tmp_path).startswith("web[0:2]:@")
    assert _limit_for(None, set(), {"x"}, tmp_path).startswith("all:@")


def test_render_diff() -> None:
    text = render_diff(
        {"before": "a\nb\n", "after": "a\nc\n", "before_header": "/etc/x", "after_header": "/etc/x"}
    )
    assert text.splitlines() == ["--- before: /etc/x", "+++ after: /etc/x", "@@ -1,2 +1,2 @@",
                                 " a", "-b", "+c"]  # fmt: skip
    assert render_diff([{"prepared": "+ vlan 10\n"}, {"before": "", "after": ""}]) == "+ vlan 10\n"
    structured = render_diff({"before": {"state": "absent"}, "after": {"state": "present"}})
    assert '-  "state": "absent"' in structured.splitlines()
    assert '+  "state": "present"' in structured.splitlines()
