"""Real SNMP peers for the tests: net-snmp's snmpd and snmpsimd, each on a free loopback port.

Import the fixtures into a test module by their function names (``from tests.collectors.snmp_peers
import snmpd_fixture``); tests then ask for ``snmpd`` / ``snmpsim_fleet``. Each
fixture starts its own process, waits until the agent answers an SNMP GET (polling with a bounded
deadline, no fixed sleeps), and stops it by pid afterwards. A fixture skips with the reason when
its binary is not installed (``apt-get install snmpd snmpsim``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from pydantic import SecretStr

from collectors.settings import SnmpSettings
from collectors.snmp import ber
from collectors.snmp.credentials import CredentialStore, V2cCredential, V3Credential

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
READY_DEADLINE_S = 15.0


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run one async test body in a fresh event loop (the tests own the loop, the library never)."""

    async def main() -> T:
        return await factory()

    return asyncio.run(main())


def free_udp_port() -> int:
    """A UDP port on loopback that was free a moment ago (bound, read, closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_tcp_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def snmp_answers(host: str, port: int, community: str, *, timeout_s: float = 0.2) -> bool:
    """True when a v2c GET of sysUpTime to host:port gets a Response."""
    request = ber.encode_request(community.encode(), [SYS_UPTIME], ber.REQUEST_ID_MIN)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        sock.sendto(request, (host, port))
        try:
            data = sock.recv(65_535)
        except TimeoutError:
            return False
    return ber.decode_message(data).pdu.tag == ber.RESPONSE


def wait_until_snmp_answers(
    proc: subprocess.Popen[bytes], port: int, community: str, log: Path
) -> None:
    """Poll the agent until it answers; fail with its log if it dies or the deadline passes."""
    deadline = time.monotonic() + READY_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"agent exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if snmp_answers(LOOPBACK, port, community):
            return
    raise RuntimeError(
        f"agent did not answer within {READY_DEADLINE_S} s: {log.read_text()[-2000:]}"
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process we started, by its pid: SIGTERM, then SIGKILL after 5 s."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def require(binary: str, package: str) -> str:
    """The binary's path, or skip the test saying which package to install."""
    path = shutil.which(binary) or (
        f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None
    )
    if path is None:
        pytest.skip(f"{binary} is not installed (apt-get install {package})")
    return path


# --------------------------------------------------------------------------------------------
# snmpd


@dataclass(frozen=True)
class SnmpdPeer:
    """A running snmpd: where it listens and what it accepts."""

    host: str
    port: int
    pid: int
    community: str = "kontur-ro"
    sys_name: str = "kontur-snmpd"
    v3_user: str = "kontur"
    v3_auth_key: str = "auth-secret-1"
    v3_priv_key: str = "priv-secret-1"
    log: Path = field(default=Path())

    def credentials(self, **extra: V2cCredential | V3Credential) -> CredentialStore:
        """Profiles ``v2c``, ``v3`` (SHA/AES authPriv), ``v3-sha256-aes256`` and
        ``v3-sha512-aes`` for this agent, plus ``extra``."""
        profiles: dict[str, V2cCredential | V3Credential] = {
            "v2c": V2cCredential("v2c", SecretStr(self.community)),
            "v3": V3Credential(
                "v3",
                self.v3_user,
                "sha",
                SecretStr(self.v3_auth_key),
                "aes",
                SecretStr(self.v3_priv_key),
            ),
        }
        auth_key, priv_key = SecretStr(self.v3_auth_key), SecretStr(self.v3_priv_key)
        profiles["v3-sha256-aes256"] = V3Credential(
            "v3-sha256-aes256", f"{self.v3_user}256", "sha256", auth_key, "aes256", priv_key
        )
        profiles["v3-sha512-aes"] = V3Credential(
            "v3-sha512-aes", f"{self.v3_user}512", "sha512", auth_key, "aes", priv_key
        )
        profiles.update(extra)
        return CredentialStore(profiles)


SNMPD_CONF = """\
agentAddress udp:{host}:{port}
# One view with the groups the tests and poll plans read; IF-MIB (ifTable and ifXTable) is in it,
# so the loopback interface 'lo' is visible.
view kontur included .1.3.6.1.2.1.1
view kontur included .1.3.6.1.2.1.2
view kontur included .1.3.6.1.2.1.31
view kontur included .1.3.6.1.2.1.25
view kontur included .1.3.6.1.4.1.2021
rocommunity {community} 127.0.0.1 -V kontur
createUser {user} SHA "{auth}" AES "{priv}"
rouser {user} priv -V kontur
createUser {user}256 SHA-256 "{auth}" AES-256 "{priv}"
rouser {user}256 priv -V kontur
createUser {user}512 SHA-512 "{auth}" AES "{priv}"
rouser {user}512 priv -V kontur
sysName {sys_name}
sysLocation Kontur test lab
"""


@contextlib.contextmanager
def running_snmpd(
    workdir: Path, *, extra_addresses: tuple[str, ...] = (), extra_conf: str = ""
) -> Iterator[SnmpdPeer]:
    """Start snmpd on a free loopback port (plus ``extra_addresses``), yield it, stop it."""
    binary = require("snmpd", "snmpd")
    port = free_udp_port()
    peer = SnmpdPeer(host=LOOPBACK, port=port, pid=0, log=workdir / "snmpd.log")
    conf = workdir / "snmpd.conf"
    text = SNMPD_CONF.format(
        host=LOOPBACK,
        port=port,
        community=peer.community,
        user=peer.v3_user,
        auth=peer.v3_auth_key,
        priv=peer.v3_priv_key,
        sys_name=peer.sys_name,
    )
    if extra_addresses:
        listen = ",".join([f"udp:{LOOPBACK}:{port}", *(f"udp:{a}" for a in extra_addresses)])
        text = text.replace(f"agentAddress udp:{LOOPBACK}:{port}", f"agentAddress {listen}")
    conf.write_text(text + extra_conf)
    persist = workdir / "persist"
    persist.mkdir(exist_ok=True)
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persist), "MIBS": "", "MIBDIRS": str(persist)}
    with peer.log.open("wb") as log:
        proc = subprocess.Popen(
            [binary, "-f", "-Lo", "-C", "-c", str(conf), "-p", str(workdir / "snmpd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_until_snmp_answers(proc, port, peer.community, peer.log)
        yield dataclasses.replace(peer, pid=proc.pid)
    finally:
        stop(proc)


@pytest.fixture(scope="module", name="snmpd")
def snmpd_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpdPeer]:
    """A real net-snmp agent on loopback: v2c community and a v3 SHA/AES authPriv user."""
    with running_snmpd(tmp_path_factory.mktemp("snmpd")) as peer:
        yield peer


# --------------------------------------------------------------------------------------------
# snmpsimd


@dataclass(frozen=True)
class SnmpsimPeer:
    """A running snmpsimd: one UDP port, one simulated agent per community (= data file name)."""

    host: str
    port: int
    pid: int
    communities: tuple[str, ...]


def snmprec(records: Mapping[str, tuple[int, str]]) -> str:
    """An .snmprec body from {oid: (tag, value)}, sorted by OID as snmpsimd needs."""

    def key(oid: str) -> tuple[int, ...]:
        return tuple(int(p) for p in oid.split("."))

    return "".join(
        f"{oid}|{tag}|{value}\n"
        for oid, (tag, value) in sorted(records.items(), key=lambda kv: key(kv[0]))
    )


@contextlib.contextmanager
def running_snmpsim(agents: Mapping[str, str]) -> Iterator[SnmpsimPeer]:
    """Start snmpsimd with one ``<community>.snmprec`` per entry of ``agents``; stop it after.

    The data lives in a world-readable directory under /tmp because snmpsimd drops to 'nobody'.
    """
    binary = require("snmpsimd", "snmpsim")
    root = Path(tempfile.mkdtemp(prefix="kontur-snmpsim-"))
    try:
        root.chmod(0o755)
        data, cache = root / "data", root / "cache"
        data.mkdir()
        cache.mkdir()
        for community, body in agents.items():
            (data / f"{community}.snmprec").write_text(body)
        cache.chmod(0o777)
        port = free_udp_port()
        log = root / "snmpsimd.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    binary,
                    f"--data-dir={data}",
                    f"--cache-dir={cache}",
                    f"--agent-udpv4-endpoint={LOOPBACK}:{port}",
                    "--process-user=nobody",
                    "--process-group=nogroup",
                    "--v2c-arch",
                    "--logging-method=null",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_snmp_answers(proc, port, next(iter(agents)), log)
            yield SnmpsimPeer(LOOPBACK, port, proc.pid, tuple(agents))
        finally:
            stop(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


#: Simulated agents of the fleet fixture: ``fap-000`` .. ``fap-059`` (sysName = community).
FLEET_SIZE = 60
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"
IF_IN_OCTETS = "1.3.6.1.2.1.2.2.1.10"
IF_OUT_OCTETS = "1.3.6.1.2.1.2.2.1.16"
APC = "1.3.6.1.4.1.318.1.1.1"


def fleet_agents() -> dict[str, str]:
    """The fleet: many small agents, an old switch without ifXTable, and an APC UPS."""
    agents = {
        f"fap-{i:03d}": snmprec(
            {
                SYS_UPTIME: (67, str(100_000 + i)),
                SYS_NAME: (4, f"fap-{i:03d}"),
                "1.3.6.1.2.1.1.1.0": (4, f"Simulated FAP router {i}"),
            }
        )
        for i in range(FLEET_SIZE)
    }
    # An old switch: no ifName and no 64-bit counters, only ifTable (ifDescr, ifOperStatus, ...).
    agents["old-switch"] = snmprec(
        {
            SYS_UPTIME: (67, "4242"),
            SYS_NAME: (4, "old-switch"),
            f"{IF_DESCR}.1": (4, "Port 1"),
            f"{IF_DESCR}.2": (4, "Port 2"),
            f"{IF_OPER_STATUS}.1": (2, "1"),
            f"{IF_OPER_STATUS}.2": (2, "2"),
            f"{IF_IN_OCTETS}.1": (65, "1000"),
            f"{IF_IN_OCTETS}.2": (65, "0"),
            f"{IF_OUT_OCTETS}.1": (65, "2000"),
            f"{IF_OUT_OCTETS}.2": (65, "0"),
        }
    )
    agents["ups-1"] = snmprec(
        {
            SYS_UPTIME: (67, "777"),
            SYS_NAME: (4, "ups-1"),
            f"{APC}.2.2.1.0": (66, "97"),
            f"{APC}.2.2.2.0": (66, "31"),
            f"{APC}.2.2.3.0": (67, "360000"),
            f"{APC}.3.2.1.0": (66, "228"),
            f"{APC}.4.1.1.0": (2, "2"),
        }
    )
    return agents


@pytest.fixture(scope="module", name="snmpsim_fleet")
def snmpsim_fleet_fixture() -> Iterator[SnmpsimPeer]:
    """snmpsimd serving :func:`fleet_agents` on one loopback port (community = agent name)."""
    with running_snmpsim(fleet_agents()) as peer:
        yield peer


def settings(**overrides: float | int) -> SnmpSettings:
    """SnmpSettings for tests: short timeouts unless overridden."""
    values: dict[str, float | int] = {"timeout_s": 0.5, "retries": 1}
    values.update(overrides)
    return SnmpSettings.model_validate(values)
