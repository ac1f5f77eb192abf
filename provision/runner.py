"""``kontur provision``: run a playbook through ansible-runner, gated, every host/task recorded.

A run:

1. builds the inventory from the CMDB (:mod:`provision.inventory`) and resolves which hosts the
   playbook's plays and ``--limit`` select (:mod:`provision.patterns`);
2. asks the gate (:mod:`provision.gate`) about every host; refusals among the targets (reasons in
   Russian) and the overrides used are stored on the run and journaled;
3. runs ``ansible-playbook`` through ansible-runner with the CMDB inventory (``inventory/``),
   restricted to what the gate allowed: either the allowed targets listed one by one or the
   user's limit minus every refused host (whichever list is shorter; both are safe whatever
   :mod:`provision.patterns` resolved), ``--check`` and ``--diff`` as asked;
4. stores each host/task result (ok, changed, failed, unreachable, skipped; diff text; message)
   as it arrives, linked to the CMDB object (kind and natural key), and the recap at the end.

The read side (:func:`list_runs`, :func:`get_run`, :func:`events_for_object`) is what the CLI and
the web UI show. ansible-runner has no type hints: it is touched only in :func:`_run_ansible`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, func, insert, select, update

from cmdb.audit import AuditBatch
from cmdb.choices import AuditAction
from cmdb.errors import KonturError, NotFound
from cmdb.models import EventStatus, ProvisionEvent, ProvisionRun, RunStatus
from cmdb.types import utcnow
from provision import gate, patterns
from provision.inventory import build_inventory, host_groups

logger = logging.getLogger(__name__)

RUN_ENTITY: Final = "provision_run"
#: The inventory directory shipped with the repository (the CMDB inventory script).
DEFAULT_INVENTORY: Final = Path(__file__).resolve().parent.parent / "inventory"
MESSAGE_MAX: Final = 4000
DIFF_MAX: Final = 200_000
FLUSH_EVERY: Final = 200
FLUSH_SECONDS: Final = 1.0

_STATUS_OF_EVENT: Final[dict[str, EventStatus]] = {
    "runner_on_ok": EventStatus.OK,
    "runner_on_failed": EventStatus.FAILED,
    "runner_on_unreachable": EventStatus.UNREACHABLE,
    "runner_on_skipped": EventStatus.SKIPPED,
}


class PlaybookNotFound(KonturError):
    """The playbook file does not exist."""


@dataclass(frozen=True)
class RunRequest:
    """What to run: the playbook, ``--limit``, ``--check``, ``--tags``."""

    playbook: Path
    limit: str | None = None
    check: bool = False
    tags: str | None = None
    diff: bool = True


@dataclass(frozen=True)
class EventView:
    """One task's result on one host."""

    seq: int
    host: str
    object_kind: str | None
    object_key: str | None
    play: str | None
    task: str | None
    action: str | None
    status: str
    diff: str | None
    message: str | None
    at: dt.datetime


@dataclass(frozen=True)
class RunView:
    """A run as people see it (``events`` filled by :func:`get_run` only)."""

    id: int
    playbook: str
    limit: str | None
    tags: str | None
    check_mode: bool
    actor: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    rc: int | None
    hosts: int
    counts: dict[str, int]
    refused: list[dict[str, Any]]
    overridden: list[dict[str, Any]]
    recap: dict[str, Any]
    message: str | None
    events: list[EventView] = field(default_factory=list)


# --- diff and message text -------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"


def render_diff(diff: Any) -> str:
    """Ansible's ``diff`` result (a dict or a list of them) as unified diff text."""
    items = diff if isinstance(diff, list) else [diff]
    out: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("prepared"):
            out.append(_text(item["prepared"]))
            continue
        if "before" not in item and "after" not in item:
            continue
        before, after = _text(item.get("before", "")), _text(item.get("after", ""))
        if before == after:
            continue
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"before: {item.get('before_header', '')}".rstrip(": "),
            tofile=f"after: {item.get('after_header', '')}".rstrip(": "),
        )
        out.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return "".join(out)


def _diff_of(res: Mapping[str, Any]) -> str | None:
    parts = []
    if "diff" in res:
        parts.append(render_diff(res["diff"]))
    for item in res.get("results") or ():
        if isinstance(item, dict) and "diff" in item:
            parts.append(render_diff(item["diff"]))
    text = "".join(parts)
    return text[:DIFF_MAX] or None


def _message_of(res: Mapping[str, Any], status: EventStatus) -> str | None:
    if status is EventStatus.SKIPPED:
        text = res.get("skip_reason") or res.get("false_condition")
    else:
        text = res.get("msg")
        if status is EventStatus.FAILED:
            parts = ([str(text)] if text else []) + [
                str(res[k]) for k in ("stderr", "module_stderr") if res.get(k)
            ]
            text = "\n".join(parts) or None
    return str(text)[:MESSAGE_MAX] if text else None


# --- recording -------------------------------------------------------------------------------


class _Recorder:
    """ansible-runner's event handler: buffers host/task results and writes them in batches."""

    def __init__(
        self,
        engine: Engine,
        run_id: int,
        objects: Mapping[str, tuple[str, str]],
        on_event: Callable[[EventView], None] | None,
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.objects = objects
        self.on_event = on_event
        self.pending: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.recap: dict[str, Any] = {}
        self.last_flush = time.monotonic()
        self.seq = 0

    def __call__(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self.recap = _recap(data)
            return False
        status = _STATUS_OF_EVENT.get(str(kind))
        if status is None:
            return False
        res = data.get("res") or {}
        if status is EventStatus.OK and res.get("changed"):
            status = EventStatus.CHANGED
        host = str(data.get("host", ""))
        obj_kind, obj_key = self.objects.get(host, (None, None))
        self.seq += 1
        view = EventView(
            seq=int(event.get("counter") or self.seq),
            host=host,
            object_kind=obj_kind,
            object_key=obj_key,
            play=_cut(data.get("play"), 500),
            task=_cut(data.get("task"), 500),
            action=_cut(data.get("resolved_action") or data.get("task_action"), 255),
            status=status.value,
            diff=_diff_of(res),
            message=_message_of(res, status),
            at=_event_time(event),
        )
        self.counts[status.value] += 1
        self.pending.append({"run_id": self.run_id, **view.__dict__})
        if self.on_event is not None:
            self.on_event(view)
        if len(self.pending) >= FLUSH_EVERY or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()
        return False

    def flush(self) -> None:
        """Write buffered events and the running counts (so the UI sees a run progress)."""
        with self.engine.begin() as conn:
            if self.pending:
                conn.execute(insert(ProvisionEvent), self.pending)
            conn.execute(
                update(ProvisionRun)
                .where(ProvisionRun.id == self.run_id)
                .values(**{f"{s.value}_count": self.counts[s.value] for s in EventStatus})
            )
        self.pending = []
        self.last_flush = time.monotonic()


def _cut(value: Any, size: int) -> str | None:
    return str(value)[:size] if value is not None else None


def _event_time(event: Mapping[str, Any]) -> dt.datetime:
    created = event.get("created")
    if isinstance(created, str):
        try:
            moment = dt.datetime.fromisoformat(created)
        except ValueError:
            return utcnow()
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utcnow()


def _recap(data: Mapping[str, Any]) -> dict[str, Any]:
    """Per-host stats of ``playbook_on_stats``: {host: {ok, changed, failures, dark, ...}}."""
    recap: dict[str, dict[str, int]] = {}
    for stat in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
        for host, count in (data.get(stat) or {}).items():
            recap.setdefault(str(host), {})[stat] = int(count)
    return recap


# --- running ---------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    """What :func:`provision` did."""

    run_id: int
    status: RunStatus
    rc: int | None
    decision: gate.Decision
    targets: int
    counts: dict[str, int]


def _limit_for(
    user_limit: str | None,
    allowed_targets: set[str],
    refused_all: set[str],
    folder: Path,
) -> str | None:
    """The ``--limit`` that keeps Ansible off every refused host."""
    if not refused_all:
        return user_limit
    limit_file = folder / "limit.txt"
    if allowed_targets and len(allowed_targets) <= len(refused_all):
        limit_file.write_text("\n".join(sorted(allowed_targets)), encoding="utf-8")
        return f"@{limit_file}"
    limit_file.write_text("\n".join(f"!{h}" for h in sorted(refused_all)), encoding="utf-8")
    base = user_limit or "all"
    return f"{base},@{limit_file}" if "," in base else f"{base}:@{limit_file}"


def provision(
    engine: Engine,
    request: RunRequest,
    *,
    actor: str,
    database_url: str,
    today: dt.date,
    inventory_dir: Path = DEFAULT_INVENTORY,
    project_dir: Path | None = None,
    on_event: Callable[[EventView], None] | None = None,
    on_decision: Callable[[gate.Decision, int], None] | None = None,
    timeout: int | None = None,
) -> RunOutcome:
    """Gate, run and record ``request``; returns the run's id, status and the gate's decision.

    ``database_url`` is handed to the inventory script (``KONTUR_DATABASE_URL``);
    ``on_decision(decision, run_id)`` is called before Ansible starts, ``on_event`` per result.
    """
    playbook = request.playbook.resolve()
    if not playbook.is_file():
        raise PlaybookNotFound(str(request.playbook))
    inventory = build_inventory(engine)
    hostvars: dict[str, Any] = inventory["_meta"]["hostvars"]
    all_hosts = set(hostvars)
    objects = {
        host: (str(hv["kontur_object"]["kind"]), host)
        for host, hv in hostvars.items()
        if isinstance(hv.get("kontur_object"), dict)
    }
    targets = patterns.targets(playbook, request.limit, host_groups(inventory), all_hosts)
    full = gate.evaluate(engine, sorted(all_hosts), today=today)
    decision = gate.Decision(
        allowed=[h for h in full.allowed if h in targets],
        refused=[r for r in full.refused if r.ref.host in targets],
        overridden=[r for r in full.overridden if r.ref.host in targets],
    )
    refused_all = {r.ref.host for r in full.refused}
    run_id = _start_run(engine, request, playbook, actor, decision)
    if on_decision is not None:
        on_decision(decision, run_id)
    if decision.refused and not decision.allowed:
        _finish(
            engine, run_id, RunStatus.REFUSED, rc=None, counts=Counter(), recap={}, message=None
        )
        return RunOutcome(run_id, RunStatus.REFUSED, None, decision, len(targets), {})

    recorder = _Recorder(engine, run_id, objects, on_event)
    folder = Path(tempfile.mkdtemp(prefix=f"kontur-run-{run_id}-"))
    try:
        limit = _limit_for(request.limit, set(decision.allowed), refused_all, folder)
        status, rc, output = _run_ansible(
            folder,
            playbook,
            inventory_dir,
            limit=limit,
            request=request,
            recorder=recorder,
            env={"KONTUR_DATABASE_URL": database_url},
            project_dir=project_dir or Path.cwd(),
            timeout=timeout,
        )
    except BaseException:
        recorder.flush()
        _finish(
            engine,
            run_id,
            RunStatus.ERROR,
            rc=None,
            counts=recorder.counts,
            recap=recorder.recap,
            message="aborted",
        )
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    recorder.flush()
    failed = recorder.counts["failed"] + recorder.counts["unreachable"]
    if status == "successful" and rc == 0:
        outcome = RunStatus.SUCCESSFUL
    elif failed or rc in (2, 4):
        outcome = RunStatus.FAILED
    else:
        outcome = RunStatus.ERROR
    message = None if outcome is RunStatus.SUCCESSFUL else output[-MESSAGE_MAX:] or status
    _finish(
        engine,
        run_id,
        outcome,
        rc=rc,
        counts=recorder.counts,
        recap=recorder.recap,
        message=message,
    )
    logger.info("provision run %s: %s (rc %s)", run_id, outcome, rc)
    return RunOutcome(run_id, outcome, rc, decision, len(targets), dict(recorder.counts))


def _run_ansible(
    folder: Path,
    playbook: Path,
    inventory_dir: Path,
    *,
    limit: str | None,
    request: RunRequest,
    recorder: _Recorder,
    env: Mapping[str, str],
    project_dir: Path,
    timeout: int | None,
) -> tuple[str, int | None, str]:
    """Run ansible-playbook through ansible-runner; (runner status, rc, captured output)."""
    runner: Any = importlib.import_module("ansible_runner")
    cmdline = []
    if request.check:
        cmdline.append("--check")
    if request.diff:
        cmdline.append("--diff")
    envvars = {
        **env,
        # The Ansible of this environment (the virtualenv's bin first), with a non-interactive
        # SSH: a host key prompt must fail the host, not hang the run.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "ANSIBLE_HOST_KEY_CHECKING": os.environ.get("ANSIBLE_HOST_KEY_CHECKING", "True"),
        "ANSIBLE_SSH_ARGS": os.environ.get(
            "ANSIBLE_SSH_ARGS", "-o BatchMode=yes -o ControlMaster=auto -o ControlPersist=60s"
        ),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
    }
    result = runner.run(
        private_data_dir=str(folder),
        project_dir=str(project_dir),
        playbook=str(playbook),
        inventory=str(inventory_dir.resolve()),
        limit=limit,
        tags=request.tags,
        cmdline=" ".join(cmdline) or None,
        envvars=envvars,
        event_handler=recorder,
        quiet=True,
        timeout=timeout,
        settings={"suppress_output_file": False},
    )
    output = ""
    if result.status != "successful":
        stdout = Path(result.config.artifact_dir) / "stdout"
        try:
            output = stdout.read_text(encoding="utf-8", errors="replace")
        except OSError:
            output = ""
    return str(result.status), result.rc, output


def _start_run(
    engine: Engine, request: RunRequest, playbook: Path, actor: str, decision: gate.Decision
) -> int:
    refused = [r.as_dict() for r in decision.refused]
    overridden = [r.as_dict() for r in decision.overridden]
    with engine.begin() as conn:
        run_id = int(
            conn.execute(
                insert(ProvisionRun)
                .values(
                    playbook=str(request.playbook),
                    limit_pattern=request.limit,
                    tags=request.tags,
                    check_mode=request.check,
                    actor=actor,
                    started_at=utcnow(),
                    status=RunStatus.RUNNING.value,
                    hosts=len(decision.allowed),
                    ok_count=0,
                    changed_count=0,
                    failed_count=0,
                    unreachable_count=0,
                    skipped_count=0,
                    refused=refused,
                    overridden=overridden,
                    recap={},
                )
                .returning(ProvisionRun.id)
            ).scalar_one()
        )
        batch = AuditBatch(actor=actor, source="provision")
        summary = {
            "playbook": str(request.playbook),
            "limit": request.limit,
            "tags": request.tags,
            "check_mode": request.check,
            "hosts": len(decision.allowed),
            "refused": len(refused),
            "overridden": len(overridden),
        }
        batch.add(AuditAction.CREATE, RUN_ENTITY, str(run_id), None, summary)
        if refused:
            batch.add(
                AuditAction.DENY,
                RUN_ENTITY,
                str(run_id),
                None,
                {"refused": [{"host": r["host"], "reasons": r["reasons"]} for r in refused]},
            )
        batch.write(conn)
        gate.journal_overrides(conn, run_id, decision.overridden, actor)
    return run_id


def _finish(
    engine: Engine,
    run_id: int,
    status: RunStatus,
    *,
    rc: int | None,
    counts: Counter[str],
    recap: dict[str, Any],
    message: str | None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(ProvisionRun)
            .where(ProvisionRun.id == run_id)
            .values(
                status=status.value,
                rc=rc,
                finished_at=utcnow(),
                recap=recap,
                message=message,
                **{f"{s.value}_count": counts[s.value] for s in EventStatus},
            )
        )


# --- reading ---------------------------------------------------------------------------------


def _view(row: ProvisionRun) -> RunView:
    return RunView(
        id=row.id,
        playbook=row.playbook,
        limit=row.limit_pattern,
        tags=row.tags,
        check_mode=row.check_mode,
        actor=row.actor,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        rc=row.rc,
        hosts=row.hosts,
        counts={s.value: getattr(row, f"{s.value}_count") for s in EventStatus},
        refused=list(row.refused or []),
        overridden=list(row.overridden or []),
        recap=dict(row.recap or {}),
        message=row.message,
    )


def _event_view(row: ProvisionEvent) -> EventView:
    return EventView(
        seq=row.seq,
        host=row.host,
        object_kind=row.object_kind,
        object_key=row.object_key,
        play=row.play,
        task=row.task,
        action=row.action,
        status=row.status,
        diff=row.diff,
        message=row.message,
        at=row.at,
    )


def list_runs(engine: Engine, *, limit: int = 50, offset: int = 0) -> list[RunView]:
    """Runs, newest first (without events)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        rows = session.scalars(
            select(ProvisionRun).order_by(ProvisionRun.id.desc()).limit(limit).offset(offset)
        ).all()
        return [_view(row) for row in rows]


def count_runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ProvisionRun)) or 0)


def get_run(
    engine: Engine,
    run_id: int,
    *,
    host: str | None = None,
    statuses: Sequence[str] | None = None,
) -> RunView:
    """One run with its events in order (optionally one host's, or only some statuses)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        row = session.get(ProvisionRun, run_id)
        if row is None:
            raise NotFound(RUN_ENTITY, str(run_id))
        view = _view(row)
        query = select(ProvisionEvent).where(ProvisionEvent.run_id == run_id)
        if host is not None:
            query = query.where(ProvisionEvent.host == host)
        if statuses:
            query = query.where(ProvisionEvent.status.in_(list(statuses)))
        events = session.scalars(query.order_by(ProvisionEvent.seq, ProvisionEvent.id)).all()
        view.events.extend(_event_view(e) for e in events)
    return view


def events_for_object(
    engine: Engine, object_kind: str, object_key: str, *, limit: int = 100
) -> list[tuple[int, EventView]]:
    """(run id, event) of one CMDB object, newest first: what a device's page shows."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        rows = session.scalars(
            select(ProvisionEvent)
            .where(
                ProvisionEvent.object_kind == object_kind, ProvisionEvent.object_key == object_key
            )
            .order_by(ProvisionEvent.id.desc())
            .limit(limit)
        ).all()
        return [(row.run_id, _event_view(row)) for row in rows]
