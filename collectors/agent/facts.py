"""What the agent reports about its host, read from /proc, statvfs, systemd and a small file.

Every reader returns None (or skips the item) when the host cannot tell, rather than guessing:
the collector treats ``null`` as unknown, never as false. Standard library only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from collectors.agent import __version__

logger = logging.getLogger(__name__)

#: Process names of the ViPNet client for Linux (``/proc/PID/comm`` holds at most 15 characters).
DEFAULT_VIPNET_PROCESSES: Final = ("vipnetclient", "itcsrvd", "iplircfg")
DEFAULT_VIPNET_UNIT: Final = "vipnetclient"
COMM_LENGTH: Final = 15
#: The ViPNet status file is small; anything larger is not it.
MAX_STATUS_FILE_BYTES: Final = 64 * 1024
STATUS_KEYS: Final = ("keys_valid_until", "certificate_valid_until")
SYSTEMCTL_TIMEOUT_S: Final = 5.0

#: User-facing (logged) messages: key → (Russian, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "statvfs": (
        "не удаётся получить сведения о файловой системе {mount}: {detail}",
        "cannot stat file system {mount}: {detail}",
    ),
    "status_unreadable": (
        "не удаётся прочитать файл состояния ViPNet {path}: {detail}",
        "cannot read the ViPNet status file {path}: {detail}",
    ),
    "status_too_large": (
        "файл состояния ViPNet {path} больше {limit} байт; не используется",
        "the ViPNet status file {path} is larger than {limit} bytes; ignored",
    ),
    "status_bad_date": (
        "{path}: {key} не дата (ожидается ГГГГ-ММ-ДД или ДД.ММ.ГГГГ): {value!r}",
        "{path}: {key} is not a date (expected YYYY-MM-DD or DD.MM.YYYY): {value!r}",
    ),
}


def _m(locale: str, key: str, /, **params: object) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


@dataclass(frozen=True)
class FactsConfig:
    """Where to look: mounts, the ViPNet unit and processes, the expiry file; who we say we are."""

    hostname: str | None = None
    token_name: str | None = None
    mounts: Sequence[str] = ("/",)
    vipnet_unit: str | None = DEFAULT_VIPNET_UNIT
    vipnet_processes: Sequence[str] = DEFAULT_VIPNET_PROCESSES
    vipnet_status_file: Path | None = None
    proc: Path = field(default=Path("/proc"))
    locale: str = "ru"


def hostname(configured: str | None = None) -> str:
    """The configured hostname, else the system's."""
    return configured or socket.gethostname()


def uptime_s(proc: Path = Path("/proc")) -> float:
    """Seconds since boot: /proc/uptime, else CLOCK_BOOTTIME."""
    try:
        return float((proc / "uptime").read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        logger.debug("cannot read %s/uptime; using CLOCK_BOOTTIME", proc)
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def memory(proc: Path = Path("/proc")) -> dict[str, int] | None:
    """Total and available physical memory from /proc/meminfo, in bytes; None if unreadable."""
    try:
        text = (proc / "meminfo").read_text(encoding="ascii")
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            unit = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
            values[name.strip()] = int(parts[0]) * unit
    total = values.get("MemTotal")
    if total is None:
        return None
    available = values.get("MemAvailable")
    if available is None:  # kernels before 3.14
        available = sum(values.get(k, 0) for k in ("MemFree", "Buffers", "Cached"))
    return {"total_bytes": total, "available_bytes": min(available, total)}


def disks(mounts: Iterable[str], locale: str = "ru") -> list[dict[str, Any]]:
    """Size and space available to unprivileged users of each mount; missing mounts are skipped."""
    result = []
    for mount in mounts:
        try:
            st = os.statvfs(mount)
        except OSError as exc:
            logger.warning(_m(locale, "statvfs", mount=mount, detail=exc.strerror or exc))
            continue
        total = st.f_blocks * st.f_frsize
        free = min(st.f_bavail * st.f_frsize, total)
        result.append({"mount": mount, "total_bytes": total, "free_bytes": free})
    return result


def process_running(names: Sequence[str], proc: Path = Path("/proc")) -> bool | None:
    """Whether a process whose name starts like one of ``names`` runs; None without /proc."""
    wanted = tuple(n[:COMM_LENGTH].lower() for n in names if n)
    if not wanted:
        return None
    try:
        entries = list(os.scandir(proc))
    except OSError:
        return None
    seen_any = False
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            comm = Path(entry.path, "comm").read_text(encoding="utf-8", errors="replace")
        except OSError:  # the process exited, or we may not look
            continue
        seen_any = True
        if comm.strip().lower().startswith(wanted):
            return True
    return False if seen_any else None


def service_active(unit: str | None) -> bool | None:
    """Whether systemd ``unit`` is active; None without systemd or if the unit is not known.

    Uses ``systemctl show`` rather than ``is-active``: the latter says "inactive" for a unit that
    does not exist, which would report a missing ViPNet client as stopped instead of unknown.
    """
    if not unit:
        return None
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    try:
        # A fixed executable and argument list; the unit name is passed after "--".
        done = subprocess.run(  # noqa: S603
            [systemctl, "show", "--property=LoadState", "--property=ActiveState", "--", unit],
            capture_output=True,
            text=True,
            timeout=SYSTEMCTL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("systemctl show %s failed: %s", unit, exc)
        return None
    if done.returncode != 0:
        return None
    props = dict(line.partition("=")[::2] for line in done.stdout.splitlines())
    if props.get("LoadState") in (None, "", "not-found", "bad-setting", "error"):
        return None
    state = props.get("ActiveState")
    if state in ("active", "reloading"):
        return True
    if state in ("inactive", "failed", "deactivating"):
        return False
    return None


_DATE_FORMATS: Final = ("%Y-%m-%d", "%d.%m.%Y")
_LINE: Final = re.compile(r"^\s*([A-Za-z_]+)\s*[:=]\s*(.*?)\s*$")


def _parse_date(value: object) -> dt.date | None:
    if not isinstance(value, str):
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def vipnet_expiry(path: Path | None, locale: str = "ru") -> dict[str, str | None]:
    """Key set and certificate expiry from a small JSON or ``key=value`` file; None if unknown.

    The file (written by whoever can read the ViPNet client's state, e.g. a root cron job) holds
    ``keys_valid_until`` and ``certificate_valid_until`` as ``YYYY-MM-DD`` or ``DD.MM.YYYY``.
    """
    found: dict[str, str | None] = dict.fromkeys(STATUS_KEYS)
    if path is None:
        return found
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_STATUS_FILE_BYTES + 1)
    except OSError as exc:
        logger.warning(_m(locale, "status_unreadable", path=path, detail=exc.strerror or exc))
        return found
    if len(raw) > MAX_STATUS_FILE_BYTES:
        logger.warning(_m(locale, "status_too_large", path=path, limit=MAX_STATUS_FILE_BYTES))
        return found
    text = raw.decode("utf-8", errors="replace")
    values: dict[str, object] = {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        values = data
    else:
        for line in text.splitlines():
            match = _LINE.match(line)
            if match:
                values[match.group(1).lower()] = match.group(2)
    for key in STATUS_KEYS:
        if values.get(key) not in (None, ""):
            parsed = _parse_date(values[key])
            if parsed is None:
                value = str(values[key])[:40]
                logger.warning(_m(locale, "status_bad_date", path=path, key=key, value=value))
            found[key] = parsed.isoformat() if parsed else None
    return found


def collect(config: FactsConfig, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The heartbeat payload (a JSON-ready dict)."""
    payload: dict[str, Any] = {
        "hostname": hostname(config.hostname),
        "uptime_s": round(uptime_s(config.proc), 2),
        "agent_version": __version__,
        "vipnet": {
            "service_active": service_active(config.vipnet_unit),
            "process_running": process_running(config.vipnet_processes, config.proc),
            **vipnet_expiry(config.vipnet_status_file, config.locale),
        },
        "disk": disks(config.mounts, config.locale),
        "memory": memory(config.proc),
        "sent_at": (now or dt.datetime.now(dt.UTC)).isoformat(),
    }
    if config.token_name:
        payload["token_name"] = config.token_name
    return payload
