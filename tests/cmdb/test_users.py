"""Users and API tokens: hashing, validation, the journal, and the ``kontur user`` command."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import Engine, select

from cmdb.cli.main import main
from cmdb.errors import Conflict
from cmdb.models import ApiToken, AuditEntry, User
from cmdb.users import (
    InvalidRole,
    InvalidUsername,
    WeakPassword,
    authenticate,
    create_api_token,
    create_user,
    principal_for_token,
)

GOOD = "a-long-enough-password"


def test_passwords_are_stored_as_argon2_hashes_and_never_journaled(engine: Engine) -> None:
    create_user(engine, "ivanov", "engineer", password=GOOD, full_name="Иванов И. И.", actor="t")
    with engine.connect() as conn:
        stored = conn.scalar(select(User.password_hash).where(User.username == "ivanov"))
        journal = conn.execute(select(AuditEntry.after).where(AuditEntry.entity == "user")).all()
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert GOOD not in stored
    text = json.dumps([row.after for row in journal], ensure_ascii=False)
    assert "argon2" not in text
    assert GOOD not in text
    assert authenticate(engine, "ivanov", GOOD) is not None
    assert authenticate(engine, "ivanov", GOOD + "x") is None


def test_bad_usernames_roles_and_passwords_are_refused(engine: Engine) -> None:
    with pytest.raises(InvalidUsername):
        create_user(engine, "Иван", "engineer", password=GOOD, actor="t")
    with pytest.raises(InvalidRole):
        create_user(engine, "ivan", "god", password=GOOD, actor="t")
    with pytest.raises(WeakPassword):
        create_user(engine, "ivan", "engineer", password="short", actor="t")
    create_user(engine, "ivan", "engineer", password=GOOD, actor="t")
    with pytest.raises(Conflict):
        create_user(engine, "ivan", "helpdesk", password=GOOD, actor="t")
    with engine.connect() as conn:
        assert conn.scalars(select(User.username)).all() == ["ivan"]


def test_tokens_are_stored_hashed_and_expire(engine: Engine) -> None:
    import datetime as dt

    from cmdb.types import utcnow

    create_user(engine, "script", "agent", password=None, actor="t")
    token = create_api_token(engine, "script", "ci", actor="t")
    old = create_api_token(
        engine, "script", "old", actor="t", expires_at=utcnow() - dt.timedelta(seconds=1)
    )
    with engine.connect() as conn:
        hashes = conn.scalars(select(ApiToken.token_sha256)).all()
    assert token not in hashes
    principal = principal_for_token(engine, token)
    assert principal is not None
    assert principal.username == "script"
    assert principal_for_token(engine, old) is None
    # An agent-only account has no password to sign in with.
    assert authenticate(engine, "script", "") is None


def test_token_use_is_recorded_at_most_once_a_minute(engine: Engine) -> None:
    import datetime as dt

    from sqlalchemy import update

    create_user(engine, "script", "agent", password=None, full_name="Скрипт", actor="t")
    token = create_api_token(engine, "script", "ci", actor="t")

    def last_used() -> dt.datetime | None:
        with engine.connect() as conn:
            return conn.scalar(select(ApiToken.last_used_at).where(ApiToken.name == "ci"))

    assert last_used() is None
    principal = principal_for_token(engine, token)
    assert principal is not None
    assert (principal.username, principal.full_name, principal.via) == ("script", "Скрипт", "token")
    first = last_used()
    assert first is not None
    assert principal_for_token(engine, token) is not None
    assert last_used() == first  # within the minute: a read, not a write
    with engine.begin() as conn:
        conn.execute(update(ApiToken).values(last_used_at=first - dt.timedelta(minutes=2)))
    assert principal_for_token(engine, token) is not None
    later = last_used()
    assert later is not None
    assert later >= first  # recorded again, now
    assert principal_for_token(engine, token + "x") is None
    assert principal_for_token(engine, "not-a-token") is None


def test_kontur_user_commands(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(GOOD + "\n"))
    assert main(["user", "add", "petrov", "--role", "security_officer", "--password-stdin"]) == 0
    assert "пользователь petrov (security_officer) создан" in capsys.readouterr().out
    assert main(["user", "add", "petrov", "--role", "helpdesk", "--generate"]) == 1
    assert "уже существует" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "passwd", "petrov", "--password-stdin"]) == 1
    assert "пароль короче 12 символов" in capsys.readouterr().err
    assert main(["user", "token", "create", "petrov", "scripts"]) == 0
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    assert token.startswith("kt_")
    assert main(["user", "set", "petrov", "--disable"]) == 0
    capsys.readouterr()
    assert main(["user", "list"]) == 0
    listing = capsys.readouterr().out
    assert "petrov||специалист по защите информации|—|—" in listing
    assert token not in listing
    assert main(["user", "token", "revoke", "petrov", "nope"]) == 1
    assert main(["user", "set", "nobody", "--enable"]) == 1
    assert "пользователь не найден: nobody" in capsys.readouterr().err


def test_demo_users_one_per_role_with_passwords_in_a_private_file(
    engine: Engine, tmp_path: pytest.TempPathFactory
) -> None:
    from pathlib import Path

    from cmdb.demo_users import ensure_demo_users

    path = Path(str(tmp_path)) / "var" / "demo-logins.json"
    first = ensure_demo_users(engine, path, actor="demo")
    assert {role.value for _, role, _ in first} == {
        "engineer",
        "security_officer",
        "helpdesk",
        "project_office",
        "admin",
    }
    assert path.stat().st_mode & 0o777 == 0o600
    again = ensure_demo_users(engine, path, actor="demo")
    assert again == first  # passwords are kept between runs
    for username, _, password in first:
        assert authenticate(engine, username, password) is not None
    path.unlink()
    rekeyed = ensure_demo_users(engine, path, actor="demo")
    assert [p for _, _, p in rekeyed] != [p for _, _, p in first]
    assert authenticate(engine, first[0][0], first[0][2]) is None
    assert authenticate(engine, rekeyed[0][0], rekeyed[0][2]) is not None
