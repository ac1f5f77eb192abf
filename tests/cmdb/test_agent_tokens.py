"""Agent tokens: create (shown once, only a hash kept), verify, revoke, list, and their audit trail.

The CLI is exercised in-process through ``cmdb.cli.agent_cmd.register`` on a fresh parser (the
``kontur.commands`` entry point is added to pyproject.toml separately); one test runs the real
``kontur`` entry point when it is registered.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import stat
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cmdb.agent_tokens import (
    InvalidTokenName,
    check_token,
    create_token,
    list_tokens,
    record_denial,
    record_heartbeat,
    revoke_token,
    verify,
)
from cmdb.cli import agent_cmd
from cmdb.cli.context import CliContext, CommandError
from cmdb.db import make_engine
from cmdb.errors import Conflict, NotFound
from cmdb.models import AgentHeartbeat, AgentToken, AuditEntry
from cmdb.settings import CmdbSettings
from cmdb.types import utcnow
from tests.factories import make_world


@pytest.fixture
def world(engine: Engine) -> Engine:
    make_world(engine)
    return engine


def audit_rows(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.entity == "agent_token").order_by(AuditEntry.id)
            )
        )


def assert_no_secret(engine: Engine, token: str) -> None:
    """Neither the token nor its hash appears anywhere in the journal."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with Session(engine) as session:
        for entry in session.scalars(select(AuditEntry)):
            text = json.dumps([entry.before, entry.after, entry.entity_key, entry.source])
            assert token not in text
            assert digest not in text


def test_create_returns_the_token_once_and_stores_only_its_hash(world: Engine) -> None:
    info, token = create_token(
        world, "arm-001", object_kind="workstation", object_key="arm-mo-1-001", actor="tester"
    )
    assert len(token) >= 43
    assert (info.name, info.object_kind, info.object_key) == (
        "arm-001",
        "workstation",
        "arm-mo-1-001",
    )
    assert not info.revoked
    assert info.last_used_at is None
    with Session(world) as session:
        row = session.scalars(select(AgentToken)).one()
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps({c.name: str(getattr(row, c.key)) for c in row.__table__.c})

    [entry] = audit_rows(world)
    assert (entry.action, entry.entity_key, entry.actor, entry.source) == (
        "create",
        "arm-001",
        "tester",
        "cli",
    )
    assert entry.before is None
    assert entry.after == {
        "name": "arm-001",
        "object_kind": "workstation",
        "object_key": "arm-mo-1-001",
        "revoked": False,
    }
    assert_no_secret(world, token)


def test_tokens_are_random(world: Engine) -> None:
    _, first = create_token(
        world, "a", object_kind="workstation", object_key="arm-mo-1-001", actor="t"
    )
    _, second = create_token(
        world, "b", object_kind="workstation", object_key="arm-mo-1-001", actor="t"
    )
    assert first != second


def test_create_refuses_unknown_objects_duplicates_and_bad_names(world: Engine) -> None:
    with pytest.raises(NotFound):
        create_token(world, "x", object_kind="workstation", object_key="arm-nope", actor="t")
    with pytest.raises(NotFound):
        # a device name is not a workstation hostname
        create_token(world, "x", object_kind="workstation", object_key="dc-rtr1", actor="t")
    info, _ = create_token(world, "srv", object_kind="device", object_key="dc-rtr1", actor="t")
    assert info.object_kind == "device"
    with pytest.raises(Conflict):
        create_token(world, "srv", object_kind="device", object_key="dc-hw1", actor="t")
    for bad in ("", "-x", "a b", "имя", "x" * 65):
        with pytest.raises(InvalidTokenName):
            create_token(world, bad, object_kind="device", object_key="dc-rtr1", actor="t")
    with Session(world) as session:
        assert session.scalar(select(func.count()).select_from(AgentToken)) == 1
    assert len(audit_rows(world)) == 1


def test_verify_accepts_only_live_tokens_and_records_use(world: Engine) -> None:
    _, token = create_token(
        world, "arm-001", object_kind="workstation", object_key="arm-mo-1-001", actor="t"
    )
    before = utcnow()
    row = verify(world, token)
    assert row is not None
    assert (row.name, row.object_kind, row.object_key) == (
        "arm-001",
        "workstation",
        "arm-mo-1-001",
    )
    [listed] = list_tokens(world)
    assert listed.last_used_at is not None
    assert listed.last_used_at >= before - dt.timedelta(seconds=1)

    assert verify(world, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert verify(world, "") is None
    assert verify(world, None) is None
    assert verify(world, "x" * 10_000) is None
    assert check_token(world, "not-a-token").reason == "unknown"
    assert check_token(world, None).reason == "missing"
    assert check_token(world, "tab\there").reason == "malformed"

    assert revoke_token(world, "arm-001", actor="tester") is True
    assert verify(world, token) is None
    check = check_token(world, token)
    assert (check.reason, check.name) == ("revoked", "arm-001")


def test_revoke_is_audited_once_and_idempotent(world: Engine) -> None:
    _, token = create_token(
        world, "arm-001", object_kind="workstation", object_key="arm-mo-1-001", actor="t"
    )
    assert revoke_token(world, "arm-001", actor="admin", source="cli") is True
    assert revoke_token(world, "arm-001", actor="admin", source="cli") is False
    with pytest.raises(NotFound):
        revoke_token(world, "nope", actor="admin")
    create, revoke = audit_rows(world)
    assert create.action == "create"
    assert (revoke.action, revoke.actor, revoke.entity_key) == ("update", "admin", "arm-001")
    assert revoke.before is not None
    assert revoke.after is not None
    assert (revoke.before["revoked"], revoke.after["revoked"]) == (False, True)
    assert [t.revoked for t in list_tokens(world)] == [True]
    assert_no_secret(world, token)


def test_list_is_ordered_and_carries_no_secrets(world: Engine) -> None:
    for name, key in (("b-srv", "dc-rtr1"), ("a-srv", "dc-hw1")):
        create_token(world, name, object_kind="device", object_key=key, actor="t")
    infos = list_tokens(world)
    assert [i.name for i in infos] == ["a-srv", "b-srv"]
    assert not any(hasattr(i, "token_sha256") for i in infos)


def test_denials_are_audited_without_the_token(world: Engine) -> None:
    record_denial(world, claimed_name="arm-001", remote_addr="127.0.0.1", reason="unknown")
    record_denial(world, claimed_name="bad name; drop", remote_addr="127.0.0.2", reason="missing")
    first, second = audit_rows(world)
    assert (first.action, first.entity_key, first.source, first.actor) == (
        "deny",
        "arm-001",
        "127.0.0.1",
        "agent",
    )
    assert first.after == {"reason": "unknown"}
    assert second.entity_key == "unknown"


def test_heartbeat_upsert_keeps_the_latest(world: Engine) -> None:
    first_at = utcnow()
    record_heartbeat(
        world, "arm-001", payload={"n": 1}, received_at=first_at, remote_addr="127.0.0.1"
    )
    later = first_at + dt.timedelta(seconds=60)
    record_heartbeat(world, "arm-001", payload={"n": 2}, received_at=later, remote_addr="127.0.0.9")
    record_heartbeat(world, "srv", payload={"n": 3}, received_at=later, remote_addr=None)
    with Session(world) as session:
        rows = {r.token_name: r for r in session.scalars(select(AgentHeartbeat))}
    assert set(rows) == {"arm-001", "srv"}
    assert rows["arm-001"].payload == {"n": 2}
    assert rows["arm-001"].received_at == later
    assert rows["arm-001"].remote_addr == "127.0.0.9"


# --- the CLI ------------------------------------------------------------------------------------


def agent_cli(db_url: str, *argv: str, locale: str = "ru") -> tuple[int, str, str]:
    """Run ``kontur agent ARGV`` in-process; returns (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="kontur")
    sub = parser.add_subparsers(dest="command", required=True)
    agent_cmd.register(sub)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = parser.parse_args(["agent", *argv])
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    ctx = CliContext(
        CmdbSettings(database_url=db_url, actor="tester", locale=locale), out=out, err=err
    )
    try:
        code: int = args.handler(args, ctx)
    except CommandError as exc:
        err.write(f"{exc}\n")
        code = exc.code
    finally:
        ctx.close()
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def world_cli(cli_env: str) -> str:
    engine = make_engine(cli_env)
    make_world(engine)
    engine.dispose()
    return cli_env


def test_cli_create_list_revoke(world_cli: str) -> None:
    code, out, err = agent_cli(
        world_cli, "token", "create", "arm-001", "--workstation", "arm-mo-1-001"
    )
    assert code == 0
    token = out.strip()
    assert len(token) >= 43
    assert "\n" not in token
    assert "показан один раз" in err
    assert token not in err

    engine = make_engine(world_cli)
    assert verify(engine, token) is not None

    code, out, _ = agent_cli(world_cli, "token", "create", "srv-1", "--device", "dc-rtr1")
    assert code == 0
    srv_token = out.strip()

    code, out, err = agent_cli(world_cli, "token", "list")
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["имя", "объект", "создан", "последнее", "использование", "отозван"]
    arm_line = next(line for line in lines if line.startswith("arm-001"))
    assert "АРМ arm-mo-1-001" in arm_line
    assert "устройство dc-rtr1" in next(line for line in lines if line.startswith("srv-1"))
    assert "(токенов: 2)" in out
    for secret in (token, srv_token):
        assert secret not in out
        assert hashlib.sha256(secret.encode()).hexdigest() not in out

    code, out, _ = agent_cli(world_cli, "token", "revoke", "arm-001")
    assert (code, out.strip()) == (0, "токен 'arm-001' отозван")
    code, out, _ = agent_cli(world_cli, "token", "revoke", "arm-001")
    assert (code, out.strip()) == (0, "токен 'arm-001' уже был отозван")
    assert verify(engine, token) is None
    code, out, _ = agent_cli(world_cli, "token", "list", locale="en")
    assert out.splitlines()[0].split()[:3] == ["name", "object", "created"]
    assert "yes" in next(line for line in out.splitlines() if line.startswith("arm-001"))
    actions = [(e.action, e.entity_key, e.actor) for e in audit_rows(engine)]
    assert actions == [
        ("create", "arm-001", "tester"),
        ("create", "srv-1", "tester"),
        ("update", "arm-001", "tester"),
    ]
    assert_no_secret(engine, token)
    engine.dispose()


def test_cli_data_errors_exit_1(world_cli: str) -> None:
    code, out, err = agent_cli(world_cli, "token", "create", "x", "--workstation", "arm-nope")
    assert (code, out) == (1, "")
    assert "АРМ 'arm-nope' не найден(а)" in err
    code, _, err = agent_cli(world_cli, "token", "create", "x", "--device", "nope", locale="en")
    assert code == 1
    assert "device 'nope' not found" in err
    assert agent_cli(world_cli, "token", "create", "x", "--device", "dc-rtr1")[0] == 0
    code, out, err = agent_cli(world_cli, "token", "create", "x", "--device", "dc-hw1")
    assert (code, out) == (1, "")
    assert "уже существует" in err
    code, _, err = agent_cli(world_cli, "token", "revoke", "nope")
    assert code == 1
    assert "не найден" in err


def test_cli_usage_errors_exit_2(world_cli: str) -> None:
    assert agent_cli(world_cli, "token", "create", "x")[0] == 2
    both = ("--workstation", "arm-mo-1-001", "--device", "dc-rtr1")
    assert agent_cli(world_cli, "token", "create", "x", *both)[0] == 2
    code, _, err = agent_cli(world_cli, "token", "create", "bad name", "--device", "dc-rtr1")
    assert code == 2
    assert "недопустимое имя токена" in err
    assert agent_cli(world_cli, "token")[0] == 2
    assert agent_cli(world_cli, "token", "drop")[0] == 2


def test_cli_token_file(world_cli: str, tmp_path: Path) -> None:
    path = tmp_path / "arm.token"
    code, out, _ = agent_cli(
        world_cli,
        "token",
        "create",
        "arm-001",
        "--workstation",
        "arm-mo-1-001",
        "--token-file",
        str(path),
    )
    assert code == 0
    assert str(path) in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = path.read_text().strip()
    assert token not in out
    engine = make_engine(world_cli)
    assert verify(engine, token) is not None

    # An existing file is never overwritten, and then no token is created either.
    code, _, err = agent_cli(
        world_cli,
        "token",
        "create",
        "arm-002",
        "--workstation",
        "arm-mo-1-002",
        "--token-file",
        str(path),
    )
    assert code == 1
    assert "уже существует" in err
    assert path.read_text().strip() == token
    # A failed creation removes the file it made.
    other = tmp_path / "other.token"
    code, _, _ = agent_cli(
        world_cli,
        "token",
        "create",
        "arm-003",
        "--workstation",
        "arm-nope",
        "--token-file",
        str(other),
    )
    assert code == 1
    assert not other.exists()
    assert [t.name for t in list_tokens(engine)] == ["arm-001"]
    engine.dispose()


def test_registered_entry_point(world_cli: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The real ``kontur agent`` once pyproject.toml registers ``cmdb.cli.agent_cmd:register``."""
    names = {ep.name: ep.value for ep in entry_points(group="kontur.commands")}
    if names.get("agent") != "cmdb.cli.agent_cmd:register":
        pytest.skip("the 'agent' kontur.commands entry point is not registered (pyproject.toml)")
    from cmdb.cli.main import main

    assert main(["agent", "token", "create", "arm-001", "--workstation", "arm-mo-1-001"]) == 0
    token = capsys.readouterr().out.strip()
    assert main(["agent", "token", "list"]) == 0
    out = capsys.readouterr().out
    assert "arm-001" in out
    assert token not in out
