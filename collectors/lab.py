"""The demo lab: the demo region's routers and coordinators simulated on loopback.

One ``snmpsimd`` (Debian's snmpsim, run in its v2c architecture) listens on every simulated
device's management address (127.23.x.y, as the demo data says) and answers from that device's
own ``.snmprec`` file, selected by the endpoint the request arrived at. Interface states live in
those files; :meth:`Lab.set_interface` flips an ``ifOperStatus`` value in place (same length, so
snmpsimd's offset index stays valid) and the next poll sees it. :class:`FailurePlan` cuts the
primary channel of a few FAPs with a backup on a schedule and restores it, so a newcomer sees
outages, failovers and returns within minutes. Traffic never leaves the machine: every address
must be in 127.0.0.0/8 and the lab refuses anything else.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from cmdb.choices import ChannelStatus, DeviceRole
from cmdb.models import Channel, Device, Site

logger = logging.getLogger(__name__)

#: Every role is simulated: routers and coordinators carry the channels, the rest answer SNMP.
SIMULATED_ROLES = tuple(role.value for role in DeviceRole)
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
UDP_DOMAIN = "1.3.6.1.6.1.1"


class LabError(Exception):
    """The lab cannot run here (missing snmpsimd, a non-loopback address, ...)."""


@dataclass(frozen=True)
class LabDevice:
    """A simulated device: its address and the interfaces its channels use."""

    name: str
    host: str
    platform: str
    role: str
    interfaces: tuple[str, ...]


@dataclass(frozen=True)
class LabChannel:
    """A channel whose A end the lab can cut."""

    key: str
    site: str
    site_kind: str
    role: str
    group: str | None
    device: str
    interface: str


def lab_inventory(engine: Engine) -> tuple[list[LabDevice], list[LabChannel]]:
    """The devices to simulate and the channels ending on them, from the CMDB."""
    a_site = aliased(Site)
    with Session(engine) as session:
        channels = [
            LabChannel(ch.key, code, kind, ch.role, ch.redundancy_group, dev, ch.a_interface)
            for ch, code, kind, dev in session.execute(
                select(Channel, a_site.code, a_site.kind, Device.name)
                .join(a_site, a_site.id == Channel.a_site_id)
                .join(Device, Device.id == Channel.a_device_id)
                .where(
                    Channel.status == ChannelStatus.ACTIVE.value, Channel.a_interface.is_not(None)
                )
                .order_by(Channel.key)
            )
            if ch.a_interface
        ]
        interfaces: dict[str, set[str]] = {}
        for ch in channels:
            interfaces.setdefault(ch.device, set()).add(ch.interface)
        devices = []
        for dev in session.scalars(
            select(Device)
            .where(Device.role.in_(SIMULATED_ROLES), Device.mgmt_address.is_not(None))
            .order_by(Device.name)
        ):
            host = dev.mgmt_address or ""
            if not ipaddress.ip_address(host).is_loopback:
                raise LabError(
                    f"{dev.name}: {host} is not a loopback address; the lab stays on 127/8"
                )
            devices.append(
                LabDevice(
                    dev.name,
                    host,
                    dev.platform,
                    dev.role,
                    tuple(sorted(interfaces.get(dev.name, set()))),
                )
            )
    return devices, channels


#: ifIndex numbers per simulated device. snmpsim's write cache is keyed by OID across all
#: devices, so each device numbers its interfaces in a range of its own (as a chassis would).
IF_INDEX_STRIDE = 16


def if_index(device_no: int, position: int) -> int:
    """The ifIndex of the ``position``-th (0-based) interface of device number ``device_no``."""
    return device_no * IF_INDEX_STRIDE + position + 1


def snmprec(device: LabDevice, device_no: int = 0) -> str:
    """The simulated MIB of one device (sorted by OID, as snmpsim requires)."""
    ifaces = [*device.interfaces, "lo"]
    if len(ifaces) > IF_INDEX_STRIDE:
        raise LabError(f"{device.name}: more than {IF_INDEX_STRIDE} interfaces")
    rows: list[tuple[tuple[int, ...], str]] = []

    def add(oid: str, tag: str, value: str) -> None:
        rows.append((tuple(int(x) for x in oid.split(".")), f"{oid}|{tag}|{value}"))

    descr = {"eltex_esr": "Eltex ESR", "mikrotik_routeros": "RouterOS"}.get(
        device.platform, "ViPNet Coordinator"
    )
    add("1.3.6.1.2.1.1.1.0", "4", f"{descr} (Kontur demo lab)")
    add("1.3.6.1.2.1.1.2.0", "6", "1.3.6.1.4.1.8072.3.2.10")
    add("1.3.6.1.2.1.1.3.0", "67:numeric", "rate=100,initial=1000")
    add("1.3.6.1.2.1.1.5.0", "4", device.name)
    add("1.3.6.1.2.1.2.1.0", "2", str(len(ifaces)))
    for position, name in enumerate(ifaces):
        index = if_index(device_no, position)
        add(f"1.3.6.1.2.1.2.2.1.2.{index}", "4", name)
        add(f"{IF_OPER_STATUS}.{index}", "2:writecache", "value=1")
        add(f"1.3.6.1.2.1.2.2.1.10.{index}", "65:numeric", "rate=20000,wrap=1")
        add(f"1.3.6.1.2.1.2.2.1.16.{index}", "65:numeric", "rate=5000,wrap=1")
        add(f"1.3.6.1.2.1.31.1.1.1.1.{index}", "4", name)
        add(f"1.3.6.1.2.1.31.1.1.1.6.{index}", "70:numeric", "rate=20000")
        add(f"1.3.6.1.2.1.31.1.1.1.10.{index}", "70:numeric", "rate=5000")
    return "".join(line + "\n" for _oid, line in sorted(rows))


@dataclass
class Lab:
    """The simulated network: files, the snmpsimd process and interface controls."""

    directory: Path
    port: int = 161
    community: str = field(default_factory=lambda: "lab-" + secrets.token_hex(6))
    devices: list[LabDevice] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def _file(self, index: int) -> Path:
        return self.data_dir / self.community / f"{UDP_DOMAIN}.{index}.snmprec"

    def build(self, devices: Sequence[LabDevice]) -> None:
        """Write one data file per device, numbered like snmpsimd's endpoints."""
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        (self.data_dir / self.community).mkdir(parents=True)
        self.devices = list(devices)
        for index, device in enumerate(self.devices):
            self._file(index).write_text(snmprec(device, index), encoding="ascii")
        (self.directory / "cache").mkdir(exist_ok=True)
        for path in (self.directory, self.data_dir, self.data_dir / self.community,
                     self.directory / "cache"):  # fmt: skip
            path.chmod(0o777)  # snmpsimd drops to nobody; the files are synthetic
        for index in range(len(self.devices)):
            self._file(index).chmod(0o666)

    def start(self, timeout_s: float = 120.0) -> None:
        """Start snmpsimd on every device's address and wait until the last one answers."""
        binary = shutil.which("snmpsimd")
        if binary is None:
            raise LabError("snmpsimd не найден: apt-get install snmpsim")
        if self.port < 1024 and os.geteuid() != 0:
            raise LabError(f"порт {self.port} требует прав root")
        if os.geteuid() == 0:
            # snmpsimd drops to 'nobody', which must be able to reach the lab's files.
            for parent in (self.directory.resolve(), *self.directory.resolve().parents):
                if not parent.stat().st_mode & 0o001:
                    raise LabError(f"{parent}: недоступен пользователю nobody (нужен o+x)")
        # Options on the command line; the (many) endpoints in a file (snmpsimd's way).
        args = [
            binary, "--v2c-arch", f"--data-dir={self.data_dir}",
            f"--cache-dir={self.directory / 'cache'}", "--logging-method=null",
        ]  # fmt: skip
        if os.geteuid() == 0:
            args += ["--process-user=nobody", "--process-group=nogroup"]
        listed = [f"--agent-udpv4-endpoint={d.host}:{self.port}" for d in self.devices]
        args_file = self.directory / "snmpsimd.args"
        args_file.write_text("\n".join(listed) + "\n", encoding="ascii")
        self.process = subprocess.Popen(  # noqa: S603 - our own argument list
            [*args, f"--args-from-file={args_file}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        (self.directory / "snmpsimd.pid").write_text(str(self.process.pid), encoding="ascii")
        if self.devices:
            self._wait_ready(self.devices[-1], timeout_s)

    def _wait_ready(self, device: LabDevice, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise LabError(f"snmpsimd завершился с кодом {self.process.returncode}")
            if _answers(device.host, self.port, self.community):
                return
            time.sleep(0.2)
        raise LabError(f"snmpsimd не ответил за {timeout_s:.0f} с")

    def stop(self) -> None:
        """Stop snmpsimd (its whole process group)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        with contextlib.suppress(FileNotFoundError):
            (self.directory / "snmpsimd.pid").unlink()

    def set_interface(self, device: str, interface: str, up: bool) -> None:
        """Set a simulated interface up or down, as its next polls will see it.

        The value lives in snmpsimd's write cache (the ``writecache`` variation), so the lab
        changes it the way an operator's tool would: an SNMP SET to the device's address.
        """
        number = next((i for i, d in enumerate(self.devices) if d.name == device), None)
        if number is None:
            raise LabError(f"{device}: не моделируется в лаборатории")
        lab_device = self.devices[number]
        index = if_index(number, [*lab_device.interfaces, "lo"].index(interface))
        snmpset = shutil.which("snmpset")
        if snmpset is None:
            raise LabError("snmpset не найден: apt-get install snmp")
        result = subprocess.run(  # noqa: S603 - fixed argument list
            [
                snmpset,
                "-v2c",
                "-c",
                self.community,
                "-t",
                "2",
                "-r",
                "2",
                "-Oqv",
                f"{lab_device.host}:{self.port}",
                f"{IF_OPER_STATUS}.{index}",
                "i",
                "1" if up else "2",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0:
            raise LabError(f"{device} {interface}: {result.stderr.strip()}")


def _answers(host: str, port: int, community: str) -> bool:
    """One synchronous sysName GET with Net-SNMP's snmpget (readiness check only)."""
    snmpget = shutil.which("snmpget")
    if snmpget is None:
        return True
    result = subprocess.run(  # noqa: S603 - fixed argument list
        [
            snmpget,
            "-v2c",
            "-c",
            community,
            "-t",
            "0.5",
            "-r",
            "0",
            "-Oqv",
            f"{host}:{port}",
            "1.3.6.1.2.1.1.5.0",
        ],
        capture_output=True,
        check=False,
        timeout=5,
    )
    return result.returncode == 0


@dataclass
class FailurePlan:
    """Cuts the primary channel of a few sites with a backup, then restores it, in rounds."""

    channels: Sequence[LabChannel]
    sites_per_round: int = 3
    outage_s: float = 240.0
    round_s: float = 600.0
    started: float = field(default_factory=time.monotonic)
    cut: dict[str, LabChannel] = field(default_factory=dict)

    def candidates(self) -> list[LabChannel]:
        """Primary channels of rural sites that have a backup in the same redundancy group."""
        groups_with_backup = {
            (c.site, c.group) for c in self.channels if c.role == "backup" and c.group
        }
        return [
            c
            for c in self.channels
            if c.role == "primary"
            and (c.site, c.group) in groups_with_backup
            and c.site_kind in ("fap", "fp")
        ]

    def due(self, now: float) -> tuple[list[LabChannel], list[LabChannel]]:
        """(channels to cut, channels to restore) at monotonic time ``now``."""
        pool = self.candidates()
        if not pool:
            return [], []
        elapsed = now - self.started
        round_no, into = divmod(elapsed, self.round_s)
        wanted: dict[str, LabChannel] = {}
        if into < self.outage_s:
            first = int(round_no) * self.sites_per_round
            for i in range(self.sites_per_round):
                ch = pool[(first + i) % len(pool)]
                wanted[ch.key] = ch
        to_cut = [ch for key, ch in wanted.items() if key not in self.cut]
        to_restore = [ch for key, ch in self.cut.items() if key not in wanted]
        return to_cut, to_restore

    def apply(self, lab: Lab, now: float) -> tuple[list[LabChannel], list[LabChannel]]:
        """Cut and restore what is due; returns what changed."""
        to_cut, to_restore = self.due(now)
        for ch in to_cut:
            lab.set_interface(ch.device, ch.interface, up=False)
            self.cut[ch.key] = ch
        for ch in to_restore:
            lab.set_interface(ch.device, ch.interface, up=True)
            self.cut.pop(ch.key, None)
        return to_cut, to_restore
