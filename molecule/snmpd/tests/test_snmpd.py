"""snmpd after the role: config content, the process, and SNMPv3 authPriv answers inside the
namespace (snmpget -v3 run on the test host itself, so the query stays on its link)."""

from __future__ import annotations

import os

import pytest

AUTH = "molecule-auth-key"
PRIV = "molecule-priv-key"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
HR_SW_RUN = "1.3.6.1.2.1.25.4.2.1.2.1"  # hrSWRunName: outside the view


@pytest.fixture
def root() -> str:
    return os.environ["MOLECULE_EPHEMERAL_DIRECTORY"] + "/root"


def _get(host, oid: str, auth: str = AUTH) -> object:
    address = host.ansible.get_variables()["ansible_host"]
    return host.run(
        f"snmpget -v3 -l authPriv -u kontur -a SHA-256 -A {auth} -x AES -X {PRIV} "
        f"-r 0 -t 2 -On {address}:161 {oid}"
    )


def test_config_is_authpriv_only_with_a_view(host, root: str) -> None:
    conf = host.file(f"{root}/etc/snmp/snmpd.conf")
    assert conf.mode == 0o600
    text = conf.content_string
    assert 'createUser kontur SHA-256 "molecule-auth-key" AES "molecule-priv-key"' in text
    assert "rouser -s usm kontur authpriv -V kontur_ro" in text
    assert "community" not in text


def test_snmpd_runs_and_listens_on_the_namespace_address(host, root: str) -> None:
    pid = host.file(f"{root}/run/kontur/kontur-snmpd.pid").content_string.strip()
    assert host.process.get(pid=int(pid)).comm == "snmpd"
    address = host.ansible.get_variables()["ansible_host"]
    assert host.socket(f"udp://{address}:161").is_listening


def test_snmpv3_authpriv_answers_inside_the_view_only(host) -> None:
    answer = _get(host, SYS_LOCATION)
    assert answer.rc == 0, answer.stderr
    assert "Основной ЦОД" in answer.stdout or "STRING" in answer.stdout
    outside = _get(host, HR_SW_RUN)
    assert "No Such Object" in outside.stdout or "noSuch" in outside.stdout


def test_wrong_key_is_refused(host) -> None:
    answer = _get(host, SYS_LOCATION, auth="wrong-key-123")
    assert answer.rc != 0
    assert "Authentication failure" in answer.stderr
