"""Test hosts in network namespaces: a veth link with link-local /30 addresses and an sshd inside.

Used by the FRR router push test (pytest fixtures in ``conftest.py``) and, as a command-line
script, by the molecule scenarios' create/destroy playbooks::

    python tests/provision/helpers_netns.py up NAME --dir DIR --subnet 181 [--force-command CMD]
    python tests/provision/helpers_netns.py down NAME --dir DIR

``up`` prints the host as JSON (namespace, addresses, ssh port, user, private key). Addresses are
``169.254.<subnet>.1`` on the host side and ``169.254.<subnet>.2`` inside the namespace; nothing
is routed out of the namespace (NETWORK RULE in the helper rules). Standard library only, so the
molecule playbooks can run it with any python3.

``down`` stops every process still running inside the namespace (sshd and whatever the roles
under test started there: they are ours), by pid, then deletes the namespace and its veth link.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
IP = "/usr/sbin/ip"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
#: Subnets 169.254.180.0/24 to 169.254.199.0/24 belong to the provisioning tests.
SUBNET_RANGE = range(180, 200)


@dataclass(frozen=True)
class NetnsHost:
    """One test host: a namespace reachable over SSH on its link-local address."""

    name: str
    netns: str
    host_if: str
    host_address: str
    address: str
    port: int
    user: str
    identity_file: str
    workdir: str


def unavailable_reason() -> str | None:
    """Why namespace hosts cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (ip netns, sshd in a namespace)"
    for binary in (IP, SSHD, SSH_KEYGEN):
        if not Path(binary).exists():
            return f"{binary} is not installed"
    probe = f"kprobe{os.getpid() % 100000}"
    made = subprocess.run([IP, "netns", "add", probe], capture_output=True, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.decode(errors='replace').strip()}"
    subprocess.run([IP, "netns", "del", probe], capture_output=True, check=False)
    return None


def _run(*args: str) -> None:
    done = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")


def _ns(netns: str, *args: str) -> list[str]:
    return [IP, "netns", "exec", netns, *args]


def _wait_port(address: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address}:{port} did not open in {timeout} s") from None
            time.sleep(0.05)


def client_key(workdir: Path) -> Path:
    """The throwaway client key for every host of ``workdir`` (made on first use)."""
    key = workdir / "id_ed25519"
    if not key.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        _run(SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "kontur-test", "-f", str(key))
    return key


def up(name: str, workdir: Path, subnet: int, force_command: str | None = None) -> NetnsHost:
    """Create the namespace ``kt-NAME`` with a veth link and an sshd listening inside it."""
    if subnet not in SUBNET_RANGE:
        raise ValueError(f"subnet {subnet} outside {SUBNET_RANGE.start}..{SUBNET_RANGE.stop - 1}")
    netns = f"kt-{name}"[:15]
    host_if = f"kh{subnet}"
    host_address = f"169.254.{subnet}.1"
    address = f"169.254.{subnet}.2"
    hdir = workdir / name
    hdir.mkdir(parents=True, exist_ok=True)
    key = client_key(workdir)
    down(name, workdir)  # a leftover of an interrupted run
    _delete_link(host_if)
    _run(IP, "netns", "add", netns)
    _run(*_ns(netns, IP, "link", "set", "lo", "up"))
    _run(IP, "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", netns)
    _run(IP, "addr", "add", f"{host_address}/30", "dev", host_if)
    _run(IP, "link", "set", host_if, "up")
    _run(*_ns(netns, IP, "addr", "add", f"{address}/30", "dev", "eth0"))
    _run(*_ns(netns, IP, "link", "set", "eth0", "up"))
    host_key = hdir / "ssh_host_ed25519_key"
    if not host_key.exists():
        _run(SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(host_key))
    authorized = hdir / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text(encoding="ascii"), encoding="ascii")
    authorized.chmod(0o600)
    lines = [
        f"ListenAddress {address}",
        "Port 22",
        f"HostKey {host_key}",
        f"PidFile {hdir / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized}",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "MaxStartups 50:30:100",
        "MaxSessions 50",
        "Subsystem sftp internal-sftp",
        "LogLevel ERROR",
    ]
    if force_command:
        lines.append(f"ForceCommand {force_command}")
    config = hdir / "sshd_config"
    config.write_text("\n".join(lines) + "\n", encoding="ascii")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    _run(*_ns(netns, SSHD, "-f", str(config), "-E", str(hdir / "sshd.log")))
    _wait_port(address, 22)
    host = NetnsHost(
        name=name,
        netns=netns,
        host_if=host_if,
        host_address=host_address,
        address=address,
        port=22,
        user="root",
        identity_file=str(key),
        workdir=str(hdir),
    )
    (hdir / "host.json").write_text(json.dumps(asdict(host)), encoding="utf-8")
    return host


def add_link(host: NetnsHost, subnet: int, ns_if: str) -> tuple[str, str]:
    """A second veth link into ``host``'s namespace (a backup channel); (host side, ns side)."""
    if subnet not in SUBNET_RANGE:
        raise ValueError(f"subnet {subnet} outside {SUBNET_RANGE.start}..{SUBNET_RANGE.stop - 1}")
    host_if = f"kh{subnet}"
    _delete_link(host_if)
    _run(IP, "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", host.netns)
    _run(IP, "addr", "add", f"169.254.{subnet}.1/30", "dev", host_if)
    _run(IP, "link", "set", host_if, "up")
    _run(*_ns(host.netns, IP, "link", "set", ns_if, "up"))
    return f"169.254.{subnet}.1", f"169.254.{subnet}.2"


def _delete_link(host_if: str) -> None:
    """Delete a host-side veth and wait until the kernel has let go of the name."""
    subprocess.run([IP, "link", "del", host_if], capture_output=True, check=False)
    deadline = time.monotonic() + 5
    while Path(f"/sys/class/net/{host_if}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def namespace_pids(netns: str) -> list[int]:
    """Pids of the processes running inside ``netns`` (empty if it does not exist)."""
    done = subprocess.run([IP, "netns", "pids", netns], capture_output=True, text=True, check=False)
    return [int(p) for p in done.stdout.split() if p.isdigit()]


def down(name: str, workdir: Path) -> None:
    """Stop what runs in the namespace ``kt-NAME`` (by pid) and delete it; quiet if absent."""
    netns = f"kt-{name}"[:15]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = namespace_pids(netns)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 3
        while namespace_pids(netns) and time.monotonic() < deadline:
            time.sleep(0.05)
    subprocess.run([IP, "netns", "del", netns], capture_output=True, check=False)
    hdir = workdir / name
    for link in sorted(Path("/sys/class/net").glob("kh*")):
        # veths whose peer was in the deleted namespace go with it, a moment later
        if (hdir / "host.json").exists() and link.name in (hdir / "host.json").read_text():
            _delete_link(link.name)
    if hdir.exists() and not (hdir / "keep").exists():
        for leftover in ("sshd.pid",):
            (hdir / leftover).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Command line for the molecule create/destroy playbooks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("name")
    p_up.add_argument("--dir", type=Path, required=True)
    p_up.add_argument("--subnet", type=int, required=True)
    p_up.add_argument("--force-command")
    p_down = sub.add_parser("down")
    p_down.add_argument("name")
    p_down.add_argument("--dir", type=Path, required=True)
    p_down.add_argument("--purge", action="store_true", help="also remove the host's directory")
    args = parser.parse_args(argv)
    if args.command == "up":
        reason = unavailable_reason()
        if reason:
            sys.stderr.write(f"cannot create test hosts: {reason}\n")
            return 2
        host = up(args.name, args.dir, args.subnet, args.force_command)
        # "instance" and friends: the shape of molecule's instance_config.yml entries
        sys.stdout.write(json.dumps({"instance": host.name, **asdict(host)}) + "\n")
        return 0
    down(args.name, args.dir)
    if args.purge:
        shutil.rmtree(args.dir / args.name, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
