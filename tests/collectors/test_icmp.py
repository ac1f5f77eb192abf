"""ICMP probing for real: loopback in-process, and a link between two network namespaces.

The namespace tests put both ends of the veth pair into namespaces they create (``…-c`` with
169.254.77.1/30 probes ``…-f`` with 169.254.77.2/30), so nothing is added to the host's own
network and parallel runs cannot collide; the probe runs inside the first namespace through
``ip netns exec``. ``net.ipv4.ping_group_range`` is per namespace, which lets the same test cover
the unprivileged datagram socket, the raw socket, and neither (CAP_NET_RAW dropped by setpriv).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collectors import icmp
from collectors.icmp import (
    IcmpResult,
    IcmpUnavailable,
    Pinger,
    ping_group_allows,
    probe,
    probe_many,
)

REPO = Path(__file__).resolve().parents[2]


def _raw_or_skip() -> None:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    except PermissionError:
        if not ping_group_allows():
            pytest.skip("no ICMP here: not root/CAP_NET_RAW and outside ping_group_range")


def assert_all_answered(result: IcmpResult, packets: int) -> None:
    assert (result.sent, result.received, result.loss_pct) == (packets, packets, 0.0)
    assert result.rtt_min_ms is not None
    assert result.rtt_avg_ms is not None
    assert result.rtt_max_ms is not None
    assert 0 < result.rtt_min_ms <= result.rtt_avg_ms <= result.rtt_max_ms < 1000


def test_probe_loopback() -> None:
    _raw_or_skip()
    result = asyncio.run(probe("127.0.0.1", packets=5, interval_s=0.05, timeout_s=1.0))
    assert result.address == "127.0.0.1"
    assert_all_answered(result, 5)


def test_probe_loopback_ipv6() -> None:
    _raw_or_skip()
    if not socket.has_ipv6 or not Path("/proc/net/if_inet6").read_text().strip():
        pytest.skip("IPv6 is not enabled on this host")
    result = asyncio.run(probe("::1", packets=3, interval_s=0.05, timeout_s=1.0))
    assert_all_answered(result, 3)


def test_probe_many_is_bounded_and_ordered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many loopback addresses through one socket; at most ``max_in_flight`` probes at once."""
    _raw_or_skip()
    in_flight = peak = 0
    real_probe = Pinger.probe

    async def counting_probe(self: Pinger, *args: Any) -> IcmpResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await real_probe(self, *args)
        finally:
            in_flight -= 1

    monkeypatch.setattr(Pinger, "probe", counting_probe)
    addresses = [f"127.0.0.{i}" for i in range(1, 21)] + ["127.0.0.1"]
    results = asyncio.run(
        probe_many(addresses, packets=3, interval_s=0.02, timeout_s=1.0, max_in_flight=4)
    )
    assert [r.address for r in results] == addresses
    for result in results:
        assert_all_answered(result, 3)
    assert peak == 4


def test_arguments_are_checked_before_any_packet() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        asyncio.run(probe("127.0.0.1", packets=1, interval_s=0.1, timeout_s=1.0))
    with pytest.raises(ValueError, match="not an IP address"):
        asyncio.run(probe("localhost", packets=3, interval_s=0.1, timeout_s=1.0))
    with pytest.raises(ValueError, match="positive"):
        asyncio.run(probe("127.0.0.1", packets=3, interval_s=0, timeout_s=1.0))
    with pytest.raises(ValueError, match=re.escape("'nope', '300.1.1.1'")):
        asyncio.run(probe_many(["127.0.0.1", "nope", "300.1.1.1"]))


def test_datagram_mode_outside_ping_group_range_is_unavailable() -> None:
    if ping_group_allows() is not False:
        pytest.skip("this process's group may open ICMP datagram sockets here")
    with pytest.raises(IcmpUnavailable) as caught:
        asyncio.run(probe("127.0.0.1", packets=2, interval_s=0.05, timeout_s=0.5, mode="dgram"))
    assert "ping_group_range" in caught.value.message("ru")
    assert caught.value.message("ru").startswith("ICMP недоступен")


def test_result_statistics() -> None:
    assert IcmpResult.of("x", 4, [1.0, 2.0, 6.0]) == IcmpResult("x", 4, 3, 25.0, 1.0, 3.0, 6.0)
    assert IcmpResult.of("x", 3, []) == IcmpResult("x", 3, 0, 100.0, None, None, None)


def test_checksum_of_a_known_packet() -> None:
    # echo request id=1 seq=1, no payload: 0x0800 + 0x0001 + 0x0001 → ~0x0802 = 0xf7fd
    assert icmp._checksum(bytes([8, 0, 0, 0, 0, 1, 0, 1])) == 0xF7FD
    assert icmp._checksum(bytes([8, 0, 0xF7, 0xFD, 0, 1, 0, 1])) == 0


# --- two namespaces and a veth link -----------------------------------------------------------

PROBE_SCRIPT = """
import asyncio, dataclasses, json, sys
from collectors.icmp import IcmpUnavailable, Pinger

async def main():
    address, mode = sys.argv[1], sys.argv[2]
    try:
        async with Pinger(mode) as pinger:
            kind = pinger.socket_kind(4)
            result = await pinger.probe(address, 5, 0.05, 0.5)
    except IcmpUnavailable as exc:
        print(json.dumps({"unavailable": exc.message("ru")}))
        return
    print(json.dumps({"kind": kind, **dataclasses.asdict(result)}))

asyncio.run(main())
"""


def sh(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Link:
    """Namespace ``probe_ns`` (169.254.77.1) linked to ``target_ns`` (169.254.77.2)."""

    probe_ns: str
    target_ns: str
    target_dev: str

    def set_ping_group_range(self, low: int, high: int) -> None:
        sh(
            "ip",
            "netns",
            "exec",
            self.probe_ns,
            "sysctl",
            "-q",
            "-w",
            f"net.ipv4.ping_group_range={low} {high}",
        )

    def target_link(self, state: str) -> None:
        sh("ip", "-n", self.target_ns, "link", "set", self.target_dev, state)

    def probe(self, mode: str = "auto", *, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
        """Probe 169.254.77.2 from inside ``probe_ns`` with the real prober."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.probe_ns,
                *prefix,
                sys.executable,
                "-S",
                "-c",
                PROBE_SCRIPT,
                "169.254.77.2",
                mode,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result


@pytest.fixture
def link() -> Iterator[Link]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 ('ip') is not installed")
    tag = secrets.token_hex(3)
    probe_ns, target_ns = f"kt-icmp-{tag}-c", f"kt-icmp-{tag}-f"
    probe_dev, target_dev = f"kic{tag}", f"kif{tag}"
    made: list[str] = []
    try:
        for ns in (probe_ns, target_ns):
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh(
            "ip",
            "-n",
            probe_ns,
            "link",
            "add",
            probe_dev,
            "type",
            "veth",
            "peer",
            "name",
            target_dev,
            "netns",
            target_ns,
        )
        sh("ip", "-n", probe_ns, "addr", "add", "169.254.77.1/30", "dev", probe_dev)
        sh("ip", "-n", target_ns, "addr", "add", "169.254.77.2/30", "dev", target_dev)
        sh("ip", "-n", probe_ns, "link", "set", probe_dev, "up")
        sh("ip", "-n", target_ns, "link", "set", target_dev, "up")
        yield Link(probe_ns, target_ns, target_dev)
    finally:
        for ns in made:  # deleting a namespace deletes its end of the veth pair, and the pair
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30, check=False)


def test_raw_socket_sees_the_link_go_down_and_up(link: Link) -> None:
    link.set_ping_group_range(1, 0)  # no unprivileged ICMP: auto must fall back to raw
    up = link.probe()
    assert up["kind"] == "raw"
    assert (up["sent"], up["received"], up["loss_pct"]) == (5, 5, 0.0)
    assert up["rtt_min_ms"] > 0

    link.target_link("down")
    down = link.probe()
    assert (down["sent"], down["received"], down["loss_pct"]) == (5, 0, 100.0)
    assert down["rtt_avg_ms"] is None

    link.target_link("up")
    assert link.probe()["received"] == 5


def test_datagram_socket_when_ping_group_range_allows(link: Link) -> None:
    link.set_ping_group_range(0, 2147483647)
    up = link.probe()
    assert up["kind"] == "dgram"
    assert (up["received"], up["loss_pct"]) == (5, 0.0)
    link.target_link("down")
    down = link.probe("dgram")
    assert (down["kind"], down["received"], down["loss_pct"]) == ("dgram", 0, 100.0)


def test_neither_socket_is_a_clear_error(link: Link) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    link.set_ping_group_range(1, 0)
    no_raw = ("setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw")
    result = link.probe(prefix=no_raw)
    message = result["unavailable"]
    assert message.startswith("ICMP недоступен")
    assert "ping_group_range" in message
    assert "CAP_NET_RAW" in message
