"""User administration (admin only): list, create, change, disable; API tokens (shown once)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import engine_of, require
from api.permissions import Permission
from cmdb.types import utcnow
from cmdb.users import (
    Principal,
    create_api_token,
    create_user,
    list_users,
    revoke_api_token,
    update_user,
)

router = APIRouter(prefix="/api/v1/users", tags=["users"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Нет аутентификации"},
    403: {"description": "Недостаточно прав"},
    404: {"description": "Пользователь не найден"},
    409: {"description": "Пользователь уже существует"},
    422: {"description": "Ошибка в данных"},
}
RoleName = Literal["admin", "engineer", "security_officer", "helpdesk", "project_office", "agent"]
Admin = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64)
    role: RoleName
    full_name: str = Field(default="", max_length=255)
    locale: Literal["ru", "en"] = "ru"
    password: str | None = Field(default=None, max_length=1024)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: RoleName | None = None
    full_name: str | None = Field(default=None, max_length=255)
    locale: Literal["ru", "en"] | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, max_length=1024)


class UserOut(BaseModel):
    username: str
    role: str
    full_name: str
    locale: str
    is_active: bool
    last_login_at: dt.datetime | None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    days: int | None = Field(default=None, ge=1, le=3660)


def _out(request: Request, username: str) -> UserOut:
    for user in list_users(engine_of(request)):
        if user.username == username:
            return UserOut(
                username=user.username,
                role=user.role,
                full_name=user.full_name,
                locale=user.locale,
                is_active=user.is_active,
                last_login_at=user.last_login_at,
            )
    from cmdb.errors import NotFound

    raise NotFound("user", username)


@router.get("", responses=ERRORS, summary="Пользователи")
def users(request: Request, admin: Admin) -> list[UserOut]:
    return [
        UserOut(
            username=u.username,
            role=u.role,
            full_name=u.full_name,
            locale=u.locale,
            is_active=u.is_active,
            last_login_at=u.last_login_at,
        )
        for u in list_users(engine_of(request))
    ]


@router.post("", status_code=201, responses=ERRORS, summary="Создать пользователя")
def add_user(request: Request, admin: Admin, body: UserIn) -> UserOut:
    create_user(
        engine_of(request),
        body.username,
        body.role,
        password=body.password,
        full_name=body.full_name,
        locale=body.locale,
        actor=admin.username,
    )
    return _out(request, body.username)


@router.patch("/{username}", responses=ERRORS, summary="Изменить пользователя")
def change_user(request: Request, username: str, admin: Admin, body: UserPatch) -> UserOut:
    _out(request, username)
    update_user(
        engine_of(request),
        username,
        actor=admin.username,
        password=body.password,
        role=body.role,
        full_name=body.full_name,
        is_active=body.is_active,
        locale=body.locale,
    )
    return _out(request, username)


@router.post("/{username}/tokens", status_code=201, responses=ERRORS, summary="Выпустить токен")
def issue_token(request: Request, username: str, admin: Admin, body: TokenIn) -> dict[str, str]:
    expires = utcnow() + dt.timedelta(days=body.days) if body.days else None
    token = create_api_token(
        engine_of(request), username, body.name, actor=admin.username, expires_at=expires
    )
    return {"name": body.name, "token": token, "note": "токен показан один раз"}


@router.delete("/{username}/tokens/{name}", status_code=204, responses=ERRORS, summary="Отозвать")
def revoke_token(request: Request, username: str, name: str, admin: Admin) -> Response:
    revoke_api_token(engine_of(request), username, name, actor=admin.username)
    return Response(status_code=204)
