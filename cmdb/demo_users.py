"""Demo sign-ins: one user per role, with random passwords kept in a 0600 file under ``var/``.

Passwords are generated on the machine (never in the repo), printed by ``make demo`` so the
person running it can sign in, and re-used on later runs. If the file is lost, the demo users'
passwords are reset (audited) and a new file is written.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, select

from cmdb.choices import Role
from cmdb.models import User
from cmdb.users import create_user, update_user

DEMO_USERS: Final[tuple[tuple[str, Role, str], ...]] = (
    ("demo-engineer", Role.ENGINEER, "Демо: сетевой инженер"),
    ("demo-security", Role.SECURITY_OFFICER, "Демо: специалист по ЗИ"),
    ("demo-helpdesk", Role.HELPDESK, "Демо: служба поддержки"),
    ("demo-project", Role.PROJECT_OFFICE, "Демо: проектный офис"),
    ("demo-admin", Role.ADMIN, "Демо: администратор"),
)


def ensure_demo_users(engine: Engine, path: Path, *, actor: str) -> list[tuple[str, Role, str]]:
    """Create (or re-key) the demo users; returns (username, role, password) for each."""
    saved: dict[str, str] = {}
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
    with engine.connect() as conn:
        existing = set(conn.scalars(select(User.username)))
    out: list[tuple[str, Role, str]] = []
    for username, role, full_name in DEMO_USERS:
        password = saved.get(username)
        if username not in existing:
            password = password or secrets.token_urlsafe(12)
            create_user(
                engine, username, role.value, password=password, full_name=full_name, actor=actor
            )
        elif password is None:
            password = secrets.token_urlsafe(12)
            update_user(engine, username, password=password, actor=actor)
        out.append((username, role, password))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({u: p for u, _, p in out}, handle, ensure_ascii=False, indent=1)
    os.chmod(path, 0o600)
    return out
