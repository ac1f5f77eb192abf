"""Namespace fixtures for the provisioning tests: an FRR router reachable over SSH (vtysh)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.provision import helpers_netns

FRR_DIR = Path("/usr/lib/frr")
VTYSH = "/usr/bin/vtysh"


@dataclass(frozen=True)
class FrrRouter:
    """An FRR router in a namespace: SSH (eth0, management) lands in vtysh; channels eth1
    (primary, peer 169.254.183.1) and eth2 (backup, peer 169.254.182.1)."""

    host: helpers_netns.NetnsHost
    confdir: Path
    primary_peer: str
    backup_peer: str

    def vtysh(self, *commands: str) -> str:
        """Run vtysh commands inside the namespace (not over SSH): the test's own view."""
        args = ["ip", "netns", "exec", self.host.netns, VTYSH, *self.vty_args()]
        for command in commands:
            args += ["-c", command]
        done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=30)
        return done.stdout + done.stderr

    def ip(self, *args: str) -> None:
        """Run ``ip ARGS`` inside the router's namespace (e.g. cut a channel's link)."""
        subprocess.run(["ip", "netns", "exec", self.host.netns, "ip", *args], check=True)

    def vty_args(self) -> list[str]:
        """vtysh options pointing at this router's sockets and config directory."""
        return ["--vty_socket", str(self.confdir), "--config_dir", str(self.confdir)]


def _frr_reason() -> str | None:
    reason = helpers_netns.unavailable_reason()
    if reason:
        return reason
    for daemon in ("zebra", "staticd"):
        if not (FRR_DIR / daemon).exists():
            return f"FRR is not installed ({FRR_DIR / daemon} missing; apt-get install frr)"
    if not Path(VTYSH).exists():
        return "vtysh is not installed (apt-get install frr)"
    return None


@pytest.fixture
def frr_router(tmp_path: Path) -> Iterator[FrrRouter]:
    """A fresh FRR (zebra + staticd) in its own namespace, with sshd whose command is vtysh."""
    reason = _frr_reason()
    if reason:
        pytest.skip(f"FRR router test host unavailable: {reason}")
    work = tmp_path / "hosts"
    # FRR's daemons drop to the frr user: their directory must not sit under pytest's 0700 dirs.
    confdir = Path(tempfile.mkdtemp(prefix="kontur-frr-"))
    confdir.chmod(0o755)
    shutil.chown(confdir, "frr", "frr")
    (confdir / "vtysh.conf").write_text("service integrated-vtysh-config\n", encoding="ascii")
    for daemon in ("zebra", "staticd"):
        path = confdir / f"{daemon}.conf"
        path.write_text("", encoding="ascii")
        shutil.chown(path, "frr", "frr")
    force = f"{VTYSH} --vty_socket {confdir} --config_dir {confdir}"
    try:
        host = helpers_netns.up("frr", work, subnet=181, force_command=force)
        primary_peer, _ = helpers_netns.add_link(host, 183, "eth1")
        backup_peer, _ = helpers_netns.add_link(host, 182, "eth2")
        for daemon in ("zebra", "staticd"):
            subprocess.run(
                [
                    "ip", "netns", "exec", host.netns, str(FRR_DIR / daemon), "-d",
                    "--vty_socket", str(confdir), "-i", str(confdir / f"{daemon}.pid"),
                    "-z", str(confdir / "zserv.api"), "-f", str(confdir / f"{daemon}.conf"),
                    "-A", "127.0.0.1", "-P", "0", "--log", f"file:{confdir / daemon}.log",
                ],
                check=True, capture_output=True, timeout=30,
            )  # fmt: skip
        router = FrrRouter(host, confdir, primary_peer=primary_peer, backup_peer=backup_peer)
        deadline = time.monotonic() + 10
        while "staticd" not in router.vtysh("show daemons"):
            if time.monotonic() > deadline:
                pytest.fail("FRR daemons did not start: " + router.vtysh("show daemons"))
            time.sleep(0.1)
        yield router
    finally:
        helpers_netns.down("frr", work)
        shutil.rmtree(confdir, ignore_errors=True)
