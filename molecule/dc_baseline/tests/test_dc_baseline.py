"""dc_baseline after the role: time zone, NTP and log forwarding files, the agent delivering
heartbeats with its token, node_exporter answering on the namespace address."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
ROOT = EPHEMERAL / "root"


def test_time_zone_ntp_and_log_forwarding(host) -> None:
    assert host.file(f"{ROOT}/etc/localtime").linked_to == "/usr/share/zoneinfo/Europe/Moscow"
    assert host.file(f"{ROOT}/etc/timezone").content_string == "Europe/Moscow\n"
    ntp = host.file(f"{ROOT}/etc/systemd/timesyncd.conf.d/kontur.conf").content_string
    assert "NTP=169.254.186.1" in ntp
    fwd = host.file(f"{ROOT}/etc/rsyslog.d/60-kontur-forward.conf").content_string
    assert 'target="169.254.186.1" port="6514" protocol="tcp"' in fwd


def test_agent_token_is_private_and_not_on_the_command_line(host) -> None:
    token = host.file(f"{ROOT}/etc/kontur-agent/token")
    assert token.mode == 0o600
    pid = int(host.file(f"{ROOT}/run/kontur/kontur-agent.pid").content_string)
    cmdline = host.file(f"/proc/{pid}/cmdline").content_string
    assert "--token-file" in cmdline
    assert "molecule-token" not in cmdline


def test_agent_delivers_heartbeats_with_its_token() -> None:
    sink = EPHEMERAL / "heartbeats.jsonl"
    deadline = time.monotonic() + 20
    while not sink.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    records = [json.loads(line) for line in sink.read_text(encoding="utf-8").splitlines()]
    assert records, "no heartbeat arrived"
    last = records[-1]
    assert last["path"] == "/api/v1/heartbeat"
    assert last["authorization"] == "Bearer molecule-token-0123456789"
    body = last["body"]
    assert body["hostname"]
    assert body.get("token_name") == "dc1"  # the token's name (inventory host name)
    assert last["body"]["vipnet"]["service_active"] in (None, False)


@pytest.mark.parametrize("port", [9100])
def test_node_exporter_answers_on_the_namespace_address(host, port: int) -> None:
    address = host.ansible.get_variables()["ansible_host"]
    assert host.socket(f"tcp://{address}:{port}").is_listening
    metrics = host.run(
        f"{host.ansible.get_variables()['ansible_python_interpreter']} -c "
        f"\"import urllib.request as u;print(u.urlopen('http://{address}:{port}/metrics').read().decode())\""
    )
    assert metrics.rc == 0
    assert "node_uname_info" in metrics.stdout
