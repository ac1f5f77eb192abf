"""Router configuration push over SSH: diff first, commit, verify, roll back on failure.

A typed adapter over netmiko (which has no type hints): nothing of netmiko leaks out of this
module. The configuration model is the IOS-like one that FRR's vtysh, Cisco IOS and Eltex ESR
share: top-level lines, and sections (``interface eth0``) whose children are indented.

What a push manages (everything else on the router is left alone):

* every section the candidate has (``interface eth0``): its children are made exactly the
  candidate's (missing ones added, others removed with ``no``);
* top-level lines the candidate has, and every running top-level line that starts with one of the
  *managed prefixes* (``ip route``, ``ntp server`` …): those not in the candidate are removed.

The push (:func:`push`): read the running config, plan the commands that make the managed part
equal the candidate, and show the change as a unified diff of the running config before and the
running config expected after. In check mode stop there. Otherwise send the commands (any line
the router refuses aborts), commit where the platform has a commit, re-read the running config
and verify nothing remains to change; on a refusal or a failed verification restore the saved
managed part with the same planner (a roll back) and verify that too.

Exceptions::

    RouterError
    ├── UnknownPlatformError   platform key without a push dialect (lists the valid ones)
    ├── RouterConnectError     cannot connect or authenticate
    ├── RouterSessionError     the session timed out or dropped while talking to the router
    └── PushFailed             a command was refused or verification failed; ``rolled_back`` says
        │                      whether the saved configuration was restored (and verified)
        └── RollbackFailed     ... and restoring it failed too: the router needs a person
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

logger = logging.getLogger(__name__)


class RouterError(Exception):
    """Base of this module's errors."""


class UnknownPlatformError(RouterError):
    """A platform key without a push dialect."""


class RouterConnectError(RouterError):
    """The router cannot be reached or refused the login."""


class RouterSessionError(RouterError):
    """The SSH session timed out or dropped (e.g. a command cut the management path)."""


class CommandRejected(RouterError):
    """The router refused a configuration command (internal; surfaces as PushFailed)."""

    def __init__(self, command: str, output: str) -> None:
        super().__init__(f"the router refused {command!r}: {output.strip()[-300:]}")
        self.command = command
        self.output = output


class PushFailed(RouterError):
    """The push did not take: a command was refused or the result did not verify."""

    def __init__(self, reason: str, *, rolled_back: bool, diff: str = "") -> None:
        state = "the saved configuration was restored" if rolled_back else "NOT rolled back"
        super().__init__(f"{reason}; {state}")
        self.reason = reason
        self.rolled_back = rolled_back
        self.diff = diff


class RollbackFailed(PushFailed):
    """The push failed and restoring the saved configuration failed as well."""


@dataclass(frozen=True)
class Dialect:
    """How one platform family shows and takes its configuration."""

    name: str
    netmiko_device_type: str
    show_running: str
    #: Running-config lines that are not configuration (banners, markers).
    ignore: tuple[str, ...]
    #: A regular expression (multiline) matching a refusal in a command's output.
    error_pattern: str
    #: Whether the platform needs an explicit ``commit`` after the commands.
    commit: bool = False
    section_end: str = "exit"
    negate: str = "no "
    #: Commands negated by keyword alone (``no description``, not ``no description TEXT``).
    negate_bare: tuple[str, ...] = ("description", "hostname", "banner")

    def negation(self, line: str) -> str:
        """The command removing ``line``."""
        keyword = line.split(" ", 1)[0]
        if keyword in self.negate_bare:
            return f"{self.negate}{keyword}"
        return f"{self.negate}{line}"


_IOS_IGNORE: Final = (
    r"^Building configuration",
    r"^Current configuration",
    r"^!",
    r"^end$",
    r"^exit$",
    r"^frr version ",
    r"^frr defaults ",
    r"^service integrated-vtysh-config$",
    r"^hostname ",
    r"^version ",
)

#: Dialects by CMDB platform key (cmdb/platforms.py); netmiko's ``CLASS_MAPPER`` style.
DIALECTS: Final[dict[str, Dialect]] = {
    # FRR's vtysh, reached over SSH as the login shell (ForceCommand): IOS-like; netmiko's
    # cisco_ios driver works against it ("terminal width" is refused harmlessly).
    "frr_vtysh": Dialect(
        name="frr_vtysh",
        netmiko_device_type="cisco_ios",
        show_running="show running-config",
        ignore=_IOS_IGNORE,
        error_pattern=r"^% ?(Unknown|Invalid|Ambiguous|Incomplete|Command incomplete|Malformed|"
        r"Can't|Cannot|Error|Specify|Please|There is no)",
    ),
    "cisco_ios": Dialect(
        name="cisco_ios",
        netmiko_device_type="cisco_ios",
        show_running="show running-config",
        ignore=(*_IOS_IGNORE, r"^Last configuration change", r"^NVRAM config last updated"),
        error_pattern=r"^% ?(Invalid|Incomplete|Ambiguous|Unknown|Error)",
    ),
    # Eltex ESR: candidate configuration, applied by "commit" then "confirm" (netmiko's driver).
    "eltex_esr": Dialect(
        name="eltex_esr",
        netmiko_device_type="eltex_esr",
        show_running="show running-config",
        ignore=_IOS_IGNORE,
        error_pattern=r"^% ?(Unrecognized|Invalid|Incomplete|Ambiguous|Unknown|Error)",
        commit=True,
    ),
}


def dialect_for(platform: str) -> Dialect:
    """The push dialect of ``platform``; UnknownPlatformError listing the valid keys."""
    try:
        return DIALECTS[platform]
    except KeyError:
        valid = ", ".join(sorted(DIALECTS))
        raise UnknownPlatformError(
            f"no configuration push for platform {platform!r} (supported: {valid})"
        ) from None


# --- the configuration model ------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """A top-level line and, for a section, its (de-indented) children in order."""

    line: str
    children: tuple[str, ...] = ()
    #: A section even without children (a rollback target for a section the push created).
    section: bool = False

    @property
    def is_section(self) -> bool:
        """Whether this block is a section (has or may have children)."""
        return self.section or bool(self.children)


Config = tuple[Block, ...]


def parse(text: str, dialect: Dialect) -> Config:
    """Parse an IOS-like configuration; comments, markers and ``exit`` lines are dropped."""
    ignore = [re.compile(p) for p in dialect.ignore]
    blocks: list[Block] = []
    for raw in text.replace("\r", "").splitlines():
        if not raw.strip():
            continue
        stripped = raw.strip()
        if raw[0].isspace():
            if not blocks or stripped in (dialect.section_end, "!") or stripped.startswith("!"):
                continue
            last = blocks[-1]
            blocks[-1] = Block(last.line, (*last.children, stripped))
            continue
        if any(p.search(stripped) for p in ignore):
            continue
        blocks.append(Block(stripped))
    return _merge_duplicates(blocks)


def _merge_duplicates(blocks: Iterable[Block]) -> Config:
    """One block per line: a section shown twice (FRR does that per daemon) is merged."""
    merged: dict[str, list[str]] = {}
    for block in blocks:
        children = merged.setdefault(block.line, [])
        children.extend(c for c in block.children if c not in children)
    return tuple(Block(line, tuple(children)) for line, children in merged.items())


def render(config: Config, dialect: Dialect) -> str:
    """A configuration as text, sections closed with the dialect's section end."""
    out: list[str] = []
    for block in config:
        out.append(block.line)
        if block.children:
            out.extend(f" {child}" for child in block.children)
            out.append(dialect.section_end)
    return "\n".join(out) + ("\n" if out else "")


@dataclass(frozen=True)
class Plan:
    """The commands that make a running config's managed part equal a target, and the result."""

    commands: tuple[str, ...]
    expected: Config


def _is_section(block: Block, running: dict[str, Block]) -> bool:
    return block.is_section or running.get(block.line, Block("")).is_section


def plan(
    running: Config,
    target: Config,
    dialect: Dialect,
    managed_prefixes: Sequence[str] = (),
    managed_lines: Iterable[str] = (),
) -> Plan:
    """Plan the commands turning ``running``'s managed part into ``target``.

    Managed: the sections ``target`` has, its top-level lines, lines in ``managed_lines`` and
    running top-level lines starting with a managed prefix. Removals go first (a replaced static
    route must not coexist with its successor), then additions in the target's order.
    """
    by_line = {b.line: b for b in running}
    wanted_top = {b.line for b in target if not _is_section(b, by_line)}
    extra_managed = set(managed_lines)
    removed: set[str] = set()
    for block in running:
        if block.is_section or block.line in wanted_top:
            continue
        if block.line in extra_managed or block.line.startswith(tuple(managed_prefixes)):
            removed.add(block.line)
    removals = [dialect.negation(b.line) for b in running if b.line in removed]
    additions: list[str] = []
    expected: dict[str, Block] = {b.line: b for b in running if b.line not in removed}
    for block in target:
        current = by_line.get(block.line)
        if not _is_section(block, by_line):
            if current is None:
                additions.append(block.line)
                expected[block.line] = Block(block.line)
            continue
        have = current.children if current else ()
        stale = [c for c in have if c not in block.children]
        missing = [c for c in block.children if c not in have]
        if stale or missing:
            additions.append(block.line)
            additions.extend(dialect.negation(c) for c in stale)
            additions.extend(missing)
            additions.append(dialect.section_end)
        kept = tuple(c for c in have if c in block.children)
        if kept or missing:
            expected[block.line] = Block(block.line, (*kept, *missing))
        else:
            expected.pop(block.line, None)
    return Plan(commands=(*removals, *additions), expected=tuple(expected.values()))


def unified_diff(before: Config, after: Config, dialect: Dialect, host: str = "router") -> str:
    """The change as a unified diff of the rendered configurations ('' when none)."""
    lines = difflib.unified_diff(
        render(before, dialect).splitlines(keepends=True),
        render(after, dialect).splitlines(keepends=True),
        fromfile=f"{host}: running",
        tofile=f"{host}: candidate",
    )
    return "".join(lines)


def rollback_target(
    saved: Config, candidate: Config, managed_prefixes: Sequence[str] = ()
) -> Config:
    """The saved configuration's part that a push of ``candidate`` may have touched.

    A section the candidate added (absent before) comes back empty: its children are removed.
    """
    saved_by_line = {b.line: b for b in saved}
    target: list[Block] = []
    for block in candidate:
        if block.is_section:
            target.append(saved_by_line.get(block.line, Block(block.line, section=True)))
    touched = {b.line for b in candidate if not b.is_section}
    target.extend(
        b
        for b in saved
        if not b.is_section and (b.line in touched or b.line.startswith(tuple(managed_prefixes)))
    )
    return tuple(target)


# --- the session --------------------------------------------------------------------------------


class CliSession(Protocol):
    """What a push needs from a connection to the router."""

    def running_config(self) -> str:
        """The running configuration as the router shows it."""
        ...

    def configure(self, commands: Sequence[str]) -> str:
        """Send configuration commands; CommandRejected on the first refused one."""
        ...

    def commit(self) -> None:
        """Make the sent commands take effect (platforms with a candidate configuration)."""
        ...

    def save(self) -> None:
        """Write the running configuration to the startup configuration."""
        ...

    def close(self) -> None:
        """Disconnect."""
        ...


@dataclass(frozen=True)
class Target:
    """How to reach a router; the secret never shows in ``repr``."""

    host: str
    platform: str
    username: str
    port: int = 22
    key_file: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 20.0
    known_hosts: bool = False


def _netmiko_errors() -> tuple[type[Exception], ...]:
    try:
        from netmiko.exceptions import NetmikoBaseException
    except ImportError:  # pragma: no cover - netmiko is a dependency
        return (OSError, EOFError)
    return (NetmikoBaseException, OSError, EOFError)


_SESSION_ERRORS: Final = _netmiko_errors()


class NetmikoSession:
    """A CliSession over a netmiko connection (the only place netmiko is touched)."""

    def __init__(self, target: Target, dialect: Dialect) -> None:
        from netmiko import ConnectHandler
        from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

        self.dialect = dialect
        self.host = target.host
        params: dict[str, Any] = {
            "device_type": dialect.netmiko_device_type,
            "host": target.host,
            "port": target.port,
            "username": target.username,
            "conn_timeout": target.timeout_s,
            "auth_timeout": target.timeout_s,
            "banner_timeout": target.timeout_s,
            "fast_cli": False,
            "ssh_strict": target.known_hosts,
            "system_host_keys": target.known_hosts,
        }
        if target.key_file:
            params.update(use_keys=True, key_file=target.key_file, allow_agent=False)
        if target.password is not None:
            params["password"] = target.password
        try:
            self._conn: Any = ConnectHandler(**params)
        except (NetmikoAuthenticationException, NetmikoTimeoutException, OSError) as exc:
            raise RouterConnectError(
                f"cannot connect to {target.host}:{target.port}: {type(exc).__name__}"
            ) from exc

    def _session_error(self, exc: Exception, doing: str) -> RouterSessionError:
        return RouterSessionError(f"{self.host}: {doing}: {type(exc).__name__}: {exc}"[:500])

    def running_config(self) -> str:
        """``show running-config`` (or the dialect's equivalent)."""
        try:
            return str(self._conn.send_command(self.dialect.show_running, read_timeout=60))
        except _SESSION_ERRORS as exc:
            raise self._session_error(exc, "reading the running configuration") from exc

    def configure(self, commands: Sequence[str]) -> str:
        """Send commands in configuration mode, stopping at the first refusal."""
        from netmiko.exceptions import ConfigInvalidException

        try:
            try:
                return str(
                    self._conn.send_config_set(
                        list(commands), error_pattern=self.dialect.error_pattern, read_timeout=60
                    )
                )
            except ConfigInvalidException as exc:
                bad = str(exc).rpartition("command:")[2].partition(", matched error")[0].strip()
                raise CommandRejected(bad or "?", str(exc)) from exc
            finally:
                if self._conn.check_config_mode():
                    self._conn.exit_config_mode()
        except _SESSION_ERRORS as exc:
            raise self._session_error(exc, "configuring") from exc

    def commit(self) -> None:
        """``commit`` (and ``confirm``) where the dialect needs it."""
        if self.dialect.commit:
            try:
                self._conn.commit()
            except _SESSION_ERRORS as exc:
                raise self._session_error(exc, "committing") from exc

    def save(self) -> None:
        """``write memory`` or the platform's equivalent."""
        try:
            self._conn.save_config()
        except _SESSION_ERRORS as exc:
            raise self._session_error(exc, "saving the configuration") from exc

    def close(self) -> None:
        """Disconnect."""
        self._conn.disconnect()


# --- the push -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushResult:
    """What a push did (or, in check mode, would do)."""

    changed: bool
    diff: str
    commands: tuple[str, ...]
    applied: bool
    saved: bool = False


def push(
    session: CliSession,
    candidate_text: str,
    dialect: Dialect,
    *,
    check: bool = False,
    managed_prefixes: Sequence[str] = (),
    save: bool = False,
    host: str = "router",
) -> PushResult:
    """Make the router's managed configuration equal ``candidate_text``; see the module doc."""
    saved_text = session.running_config()
    saved = parse(saved_text, dialect)
    candidate = parse(candidate_text, dialect)
    wanted = plan(saved, candidate, dialect, managed_prefixes)
    if not wanted.commands:
        return PushResult(changed=False, diff="", commands=(), applied=False)
    diff = unified_diff(saved, wanted.expected, dialect, host)
    if check:
        return PushResult(changed=True, diff=diff, commands=wanted.commands, applied=False)

    candidate_lines = [b.line for b in candidate if not b.is_section]
    try:
        session.configure(wanted.commands)
        session.commit()
        after = parse(session.running_config(), dialect)
        remaining = plan(after, candidate, dialect, managed_prefixes).commands
        if remaining:
            raise PushFailed(
                "the running configuration does not hold the candidate after the commit; "
                f"still differing: {'; '.join(remaining[:5])}",
                rolled_back=False,
            )
    except (CommandRejected, PushFailed, RouterSessionError) as exc:
        reason = exc.reason if isinstance(exc, PushFailed) else str(exc)
        logger.warning("%s: push failed (%s); rolling back", host, reason)
        _roll_back(
            session,
            saved=saved,
            candidate=candidate,
            candidate_lines=candidate_lines,
            dialect=dialect,
            managed_prefixes=managed_prefixes,
            reason=reason,
        )
        raise PushFailed(reason, rolled_back=True, diff=diff) from exc
    did_save = False
    if save:
        session.save()
        did_save = True
    logger.info("%s: %d configuration command(s) applied", host, len(wanted.commands))
    return PushResult(
        changed=True, diff=diff, commands=wanted.commands, applied=True, saved=did_save
    )


def _roll_back(
    session: CliSession,
    *,
    saved: Config,
    candidate: Config,
    candidate_lines: Sequence[str],
    dialect: Dialect,
    managed_prefixes: Sequence[str],
    reason: str,
) -> None:
    target = rollback_target(saved, candidate, managed_prefixes)
    try:
        current = parse(session.running_config(), dialect)
        undo = plan(current, target, dialect, managed_prefixes, candidate_lines).commands
        if undo:
            session.configure(undo)
            session.commit()
        check = parse(session.running_config(), dialect)
        left = plan(check, target, dialect, managed_prefixes, candidate_lines).commands
    except RouterError as exc:
        raise RollbackFailed(f"{reason}; roll back failed: {exc}", rolled_back=False) from exc
    if left:
        raise RollbackFailed(
            f"{reason}; roll back left differences: {'; '.join(left[:5])}", rolled_back=False
        )


def push_to(
    target: Target,
    candidate_text: str,
    *,
    check: bool = False,
    managed_prefixes: Sequence[str] = (),
    save: bool = False,
) -> PushResult:
    """Connect with netmiko, :func:`push`, disconnect."""
    dialect = dialect_for(target.platform)
    session = NetmikoSession(target, dialect)
    try:
        return push(
            session,
            candidate_text,
            dialect,
            check=check,
            managed_prefixes=managed_prefixes,
            save=save,
            host=target.host,
        )
    finally:
        session.close()
