"""Benchmark: FastSnmpClient v2c GETs/s vs Prometheus snmp_exporter and a bare asyncio UDP floor.

One snmpd on loopback (listening on 127.0.0.1-4 at one port, so the per-target bound of 16 still
allows 50+ requests in flight) and Debian's ``prometheus-snmp-exporter`` with a one-module config
(the same two OIDs, sysUpTime and sysName, and the same v2c community) are started by this script
and stopped by pid at the end. In one run, each for ``--seconds`` (5 s):

(a) FastSnmpClient: ``--in-flight`` (50) workers, each GETting the two OIDs in a loop, one process;
(b) snmp_exporter: an aiohttp client with ``--in-flight`` connections scraping ``/snmp`` (each
    scrape = one GET of the same two OIDs by the exporter); the driver's own CPU use is printed,
    so a driver-bound figure can be told apart;
(c) the floor: a bare asyncio UDP client sending a pre-encoded request with the request id patched,
    matching replies by request id, ``--in-flight`` requests outstanding, no decoding, no timeouts,
    no bounds: what the wire and snmpd allow a Python process.

The last line is ``ratio_vs_snmp_exporter=X.XX ratio_vs_floor=Y.YY gets_per_s=N`` (goals: >= 3
and >= 0.60).

``--cycle`` instead measures the steady-state cost of a real poll schedule: 10,000 targets polled
by SnmpPoller once per 60 s for 2 cycles, reporting the poller process's CPU seconds per cycle as %
of one core (``time.process_time``; goal < 30%). The 10,000 targets are one snmpd addressed as
10,000 distinct (host, port, community) triples: 100 loopback addresses 127.0.1.1-100 at one port
times 100 communities, polled with the default SnmpSettings (so 100 per-target gates of 2). Each
poll reads sysUpTime and interface ``lo`` (ifOperStatus, ifHCIn/OutOctets); the first cycle also
learns each target's ifIndex map by an ifName walk (pysnmp), the second uses the cache.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from collectors.settings import SnmpSettings
from collectors.snmp import ber
from collectors.snmp.client import FastSnmpClient
from collectors.snmp.credentials import CredentialStore, V2cCredential
from collectors.snmp.poller import DeviceRef, SnmpPoller
from collectors.snmp.profiles import load_profiles
from collectors.snmp.types import SnmpTarget

LOOPBACK = "127.0.0.1"
COMMUNITY = "kontur-bench"
OIDS = ("1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0")
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
CYCLE_HOSTS = tuple(f"127.0.1.{i}" for i in range(1, 101))
CYCLE_COMMUNITIES = tuple(f"c{i:03d}" for i in range(100))
READY_S = 15.0


# -- peers ---------------------------------------------------------------------------------------


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def answers(host: str, port: int, community: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        sock.sendto(
            ber.encode_request(community.encode(), OIDS[:1], ber.REQUEST_ID_MIN), (host, port)
        )
        try:
            return ber.decode_message(sock.recv(65_535)).pdu.tag == ber.RESPONSE
        except TimeoutError:
            return False


@contextlib.contextmanager
def snmpd(workdir: Path, hosts: tuple[str, ...], communities: tuple[str, ...]) -> Iterator[int]:
    """snmpd listening on ``hosts`` at one free port, accepting ``communities``; yields the port."""
    binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
    port = free_port(socket.SOCK_DGRAM)
    conf = workdir / "snmpd.conf"
    lines = [
        "agentAddress " + ",".join(f"udp:{h}:{port}" for h in hosts),
        "view kontur included .1.3.6.1.2.1.1",
        "view kontur included .1.3.6.1.2.1.2",
        "view kontur included .1.3.6.1.2.1.31",
        *(f"rocommunity {c} 127.0.0.0/8 -V kontur" for c in communities),
        "sysName kontur-bench",
    ]
    conf.write_text("\n".join(lines) + "\n")
    (workdir / "persist").mkdir(exist_ok=True)
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / "persist"), "MIBS": ""}
    with (workdir / "snmpd.log").open("wb") as log:
        proc = subprocess.Popen(
            [binary, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(workdir / "snmpd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + READY_S
        while not answers(hosts[0], port, communities[0]):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"snmpd did not start: {(workdir / 'snmpd.log').read_text()[-2000:]}"
                )
        yield port
    finally:
        stop(proc)


@contextlib.contextmanager
def snmp_exporter(workdir: Path) -> Iterator[str]:
    """prometheus-snmp-exporter with a module 'kontur' (the two OIDs); yields its base URL."""
    binary = shutil.which("prometheus-snmp-exporter")
    if binary is None:
        raise SystemExit("prometheus-snmp-exporter is not installed (apt-get install it)")
    config = workdir / "snmp.yml"
    config.write_text(
        "kontur:\n"
        "  get:\n"
        f"  - {OIDS[0]}\n"
        f"  - {OIDS[1]}\n"
        "  metrics:\n"
        "  - {name: sysUpTime, oid: 1.3.6.1.2.1.1.3, type: gauge, help: sysUpTime}\n"
        "  - {name: sysName, oid: 1.3.6.1.2.1.1.5, type: DisplayString, help: sysName}\n"
        "  version: 2\n"
        "  auth:\n"
        f"    community: {COMMUNITY}\n"
    )
    port = free_port(socket.SOCK_STREAM)
    with (workdir / "exporter.log").open("wb") as log:
        proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--web.listen-address={LOOPBACK}:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_S
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"exporter did not start: {(workdir / 'exporter.log').read_text()}"
                )
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.2):
                break
        yield f"http://{LOOPBACK}:{port}"
    finally:
        stop(proc)


# -- (a) FastSnmpClient ----------------------------------------------------------------------------


@dataclass
class Rate:
    ok: int
    failed: int
    wall_s: float
    cpu_s: float

    @property
    def per_s(self) -> float:
        return self.ok / self.wall_s


async def fast_client(port: int, in_flight: int, seconds: float) -> Rate:
    settings = SnmpSettings(max_in_flight=max(in_flight, 64), max_in_flight_per_target=16)
    credentials = CredentialStore({"bench": V2cCredential("bench", SecretStr(COMMUNITY))})
    targets = [SnmpTarget(h, port, "bench") for h in HOSTS]
    ok = failed = 0
    async with FastSnmpClient(settings, credentials, local_host=LOOPBACK) as client:
        await client.get(targets[0], OIDS)  # warm the template and address caches
        stop_at = time.monotonic() + seconds

        async def worker(target: SnmpTarget) -> None:
            nonlocal ok, failed
            while time.monotonic() < stop_at:
                result = await client.get(target, OIDS)
                if result.error is None and len(result.values) == 2:
                    ok += 1
                else:
                    failed += 1

        started, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(worker(targets[i % len(targets)]) for i in range(in_flight)))
        return Rate(ok, failed, time.monotonic() - started, time.process_time() - cpu)


# -- (b) snmp_exporter ---------------------------------------------------------------------------


async def exporter_scrapes(url: str, port: int, in_flight: int, seconds: float) -> Rate:
    ok = failed = 0
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        urls = [f"{url}/snmp?module=kontur&target={h}:{port}" for h in HOSTS]
        async with session.get(urls[0]) as response:
            if response.status != 200 or "kontur-bench" not in await response.text():
                raise SystemExit(f"snmp_exporter scrape failed: {response.status}")
        stop_at = time.monotonic() + seconds

        async def worker(target_url: str) -> None:
            nonlocal ok, failed
            while time.monotonic() < stop_at:
                async with session.get(target_url) as response:
                    body = await response.read()
                    if response.status == 200 and b'sysName="kontur-bench"' in body:
                        ok += 1
                    else:
                        failed += 1

        started, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(worker(urls[i % len(urls)]) for i in range(in_flight)))
        return Rate(ok, failed, time.monotonic() - started, time.process_time() - cpu)


# -- (c) the floor -------------------------------------------------------------------------------


def peek_request_id(data: bytes) -> int:
    """The request id of a v2c message, by skipping headers; no validation at all (the floor)."""

    def skip_header(pos: int) -> int:
        first = data[pos + 1]
        return pos + 2 + (first & 0x7F if first & 0x80 else 0)

    pos = skip_header(0)  # message SEQUENCE
    pos += 2 + data[pos + 1]  # version
    pos += 2 + data[pos + 1]  # community (short form: < 128 octets)
    pos = skip_header(pos)  # PDU
    length = data[pos + 1]
    return int.from_bytes(data[pos + 2 : pos + 2 + length], "big", signed=True)


class _FloorProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.pending: dict[int, asyncio.Future[bytes]] = {}

    def datagram_received(self, data: bytes, addr: tuple[object, ...]) -> None:
        future = self.pending.pop(peek_request_id(data), None)
        if future is not None and not future.done():
            future.set_result(data)


async def floor(port: int, in_flight: int, seconds: float) -> Rate:
    loop = asyncio.get_running_loop()
    protocol = _FloorProtocol()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=(LOOPBACK, 0))
    template = ber.RequestTemplate(COMMUNITY.encode(), OIDS)
    next_id = ber.REQUEST_ID_MIN
    ok = 0
    stop_at = time.monotonic() + seconds

    async def worker(address: tuple[str, int]) -> None:
        nonlocal next_id, ok
        while time.monotonic() < stop_at:
            next_id += 1
            future: asyncio.Future[bytes] = loop.create_future()
            protocol.pending[next_id] = future
            transport.sendto(template.render(next_id), address)
            await future
            ok += 1

    started, cpu = time.monotonic(), time.process_time()
    tasks = [asyncio.ensure_future(worker((HOSTS[i % len(HOSTS)], port))) for i in range(in_flight)]
    _, stuck = await asyncio.wait(tasks, timeout=seconds + 2)
    for task in stuck:  # a lost datagram would leave a floor worker waiting: it has no timeouts
        task.cancel()
    wall, used = time.monotonic() - started, time.process_time() - cpu
    transport.close()
    return Rate(ok, len(stuck), wall, used)


# -- --cycle ---------------------------------------------------------------------------------------


async def cycles(
    port: int, targets: int, interval_s: float, count: int
) -> list[tuple[float, float, int]]:
    """Poll ``targets`` devices once per ``interval_s``; per cycle (cpu %, burst s, failures)."""
    settings = SnmpSettings()
    credentials = CredentialStore({c: V2cCredential(c, SecretStr(c)) for c in CYCLE_COMMUNITIES})
    devices = [
        DeviceRef(
            name=f"dev-{i:05d}",
            host=CYCLE_HOSTS[i % len(CYCLE_HOSTS)],
            port=port,
            platform="generic_snmp",
            credential=CYCLE_COMMUNITIES[(i // len(CYCLE_HOSTS)) % len(CYCLE_COMMUNITIES)],
        )
        for i in range(targets)
    ]
    out = []
    async with FastSnmpClient(settings, credentials) as client:
        poller = SnmpPoller(client, load_profiles(), credentials)
        for number in range(1, count + 1):
            started, cpu = time.monotonic(), time.process_time()
            polls = await asyncio.gather(*(poller.poll(d, ["lo"]) for d in devices))
            burst = time.monotonic() - started
            failures = sum(
                1 for p in polls if p.error is not None or p.interfaces["lo"].oper_up is not True
            )
            await asyncio.sleep(max(0.0, started + interval_s - time.monotonic()))
            used = time.process_time() - cpu
            wall = time.monotonic() - started
            out.append((100.0 * used / wall, burst, failures))
            print(
                f"cycle {number}: {targets} targets polled in {burst:.2f} s, "
                f"CPU {used:.2f} s over {wall:.1f} s = {100.0 * used / wall:.1f}% of one core, "
                f"failures={failures}, discovery walks so far={poller.discovery_walks}",
                flush=True,
            )
    return out


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved rounds of (c), (a), (b); best of each"
    )
    parser.add_argument("--cycle", action="store_true", help="the 10,000-target schedule mode")
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--cycles", type=int, default=2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kontur-bench-snmp-"))
    try:
        if args.cycle:
            with snmpd(workdir, CYCLE_HOSTS, CYCLE_COMMUNITIES) as port:
                results = asyncio.run(cycles(port, args.targets, args.interval, args.cycles))
            worst = max(pct for pct, _, _ in results)
            print(
                f"cycle_cpu_pct_max={worst:.1f} targets={args.targets} interval_s={args.interval:g}"
            )
            return
        with snmpd(workdir, HOSTS, (COMMUNITY,)) as port, snmp_exporter(workdir) as url:
            print(f"snmpd on {','.join(HOSTS)}:{port}; snmp_exporter at {url}", flush=True)
            best: dict[str, Rate] = {}
            for round_number in range(1, args.rounds + 1):
                n, secs = args.in_flight, args.seconds
                for label, run in (
                    ("(c) floor, bare asyncio UDP  ", functools.partial(floor, port, n, secs)),
                    (
                        "(a) FastSnmpClient           ",
                        functools.partial(fast_client, port, n, secs),
                    ),
                    (
                        "(b) snmp_exporter via aiohttp",
                        functools.partial(exporter_scrapes, url, port, n, secs),
                    ),
                ):
                    rate = asyncio.run(run())
                    unit = "scrapes/s" if label.startswith("(b)") else "GETs/s"
                    print(
                        f"round {round_number} {label} {rate.per_s:10,.0f} {unit} "
                        f"({rate.ok} ok, {rate.failed} failed, {rate.wall_s:.1f} s, "
                        f"CPU {rate.cpu_s / rate.wall_s:.0%} of a core)",
                        flush=True,
                    )
                    key = label[1]
                    if key not in best or rate.per_s > best[key].per_s:
                        best[key] = rate
        ours, theirs, base = best["a"], best["b"], best["c"]
        print(
            f"best of {args.rounds}: floor {base.per_s:,.0f} GETs/s, FastSnmpClient "
            f"{ours.per_s:,.0f} GETs/s, snmp_exporter {theirs.per_s:,.0f} scrapes/s "
            f"(in flight: {args.in_flight}; the (b) driver's CPU shows whether it was the limit)"
        )
        print(
            f"ratio_vs_snmp_exporter={ours.per_s / theirs.per_s:.2f} "
            f"ratio_vs_floor={ours.per_s / base.per_s:.2f} gets_per_s={ours.per_s:.0f}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
