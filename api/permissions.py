"""The permission matrix: which role may do what. The one place that grants anything.

Routes name a :class:`Permission` (``Depends(require(Permission.X))``); a test walks every route
with every role and checks the answer against :data:`MATRIX`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from cmdb.choices import Role


class Permission(StrEnum):
    CMDB_READ = "cmdb.read"
    CMDB_WRITE = "cmdb.write"
    STATUS_READ = "status.read"
    STATUS_CHECK = "status.check"  # poll an object live ("check now")
    REPORTS_READ = "reports.read"
    CALENDAR_READ = "calendar.read"
    EVIDENCE_WRITE = "evidence.write"
    AUDIT_READ = "audit.read"
    USERS_MANAGE = "users.manage"
    PROVISION_READ = "provision.read"
    PROVISION_OVERRIDE = "provision.override"
    METRICS_READ = "metrics.read"
    HEARTBEAT_PUSH = "heartbeat.push"


_ALL_PEOPLE = frozenset(
    {Role.ADMIN, Role.ENGINEER, Role.SECURITY_OFFICER, Role.HELPDESK, Role.PROJECT_OFFICE}
)

MATRIX: Final[dict[Permission, frozenset[Role]]] = {
    Permission.CMDB_READ: _ALL_PEOPLE,
    Permission.CMDB_WRITE: frozenset({Role.ADMIN, Role.ENGINEER}),
    Permission.STATUS_READ: _ALL_PEOPLE,
    Permission.STATUS_CHECK: frozenset({Role.ADMIN, Role.ENGINEER, Role.HELPDESK}),
    Permission.REPORTS_READ: frozenset(
        {Role.ADMIN, Role.ENGINEER, Role.SECURITY_OFFICER, Role.PROJECT_OFFICE}
    ),
    Permission.CALENDAR_READ: frozenset(
        {Role.ADMIN, Role.ENGINEER, Role.SECURITY_OFFICER, Role.PROJECT_OFFICE}
    ),
    Permission.EVIDENCE_WRITE: frozenset({Role.ADMIN, Role.PROJECT_OFFICE}),
    Permission.AUDIT_READ: frozenset({Role.ADMIN, Role.SECURITY_OFFICER}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.PROVISION_READ: frozenset({Role.ADMIN, Role.ENGINEER, Role.SECURITY_OFFICER}),
    Permission.PROVISION_OVERRIDE: frozenset({Role.SECURITY_OFFICER}),
    Permission.METRICS_READ: frozenset({Role.ADMIN, Role.AGENT}),
    Permission.HEARTBEAT_PUSH: frozenset({Role.AGENT}),
}

#: The page each role lands on after signing in.
HOME: Final[dict[Role, str]] = {
    Role.ADMIN: "/engineer",
    Role.ENGINEER: "/engineer",
    Role.SECURITY_OFFICER: "/security",
    Role.HELPDESK: "/helpdesk",
    Role.PROJECT_OFFICE: "/project",
    Role.AGENT: "/login",
}


def allowed(role: Role, permission: Permission) -> bool:
    return role in MATRIX[permission]
