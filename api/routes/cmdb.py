"""CRUD of every CMDB kind under ``/api/v1/<kind>``: list, get, create, update, delete.

Writes go through the importer (:func:`cmdb.importer.import_records`), so the API validates
exactly as a file import does and every change lands in the audit journal with the caller's
name. Request bodies are typed per kind from the kind's columns, so the OpenAPI document shows
every field.
"""

# No `from __future__ import annotations` here: the routes are built in a closure, and FastAPI
# must see the local dependency and body types themselves, not their names.

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import Engine

from api.auth import engine_of, require
from api.permissions import Permission
from cmdb.errors import Conflict, NotFound
from cmdb.fields import Column, Kind
from cmdb.importer import import_records, load_by_keys
from cmdb.kinds import KINDS, KindSpec
from cmdb.listing import BadQuery, list_records
from cmdb.services import delete_record, get_record
from cmdb.users import Principal

router = APIRouter(prefix="/api/v1", tags=["cmdb"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Нет аутентификации"},
    403: {"description": "Недостаточно прав"},
    404: {"description": "Объект не найден"},
    409: {"description": "Конфликт с существующими данными"},
    422: {"description": "Ошибка в данных: поле и причина"},
}


class PageOut(BaseModel):
    kind: str
    total: int
    page: int
    per_page: int
    items: list[dict[str, Any]]


def _python_type(col: Column) -> Any:
    if col.kind is Kind.ENUM and col.enum is not None:
        return Literal[tuple(m.value for m in col.enum)]
    return {
        Kind.INT: int,
        Kind.DECIMAL: float,
        Kind.FLOAT: float,
        Kind.BOOL: bool,
        Kind.DATE: dt.date,
        Kind.DATETIME: dt.datetime,
        Kind.OBJECTS: list[str],
    }.get(col.kind, str)


def _body_model(spec: KindSpec, *, suffix: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for col in spec.columns:
        extra: dict[str, Any] = {"description": col.ru}
        if col.max_len is not None and col.kind is Kind.STR:
            extra["max_length"] = col.max_len
        fields[col.name] = (_python_type(col) | None, Field(default=None, **extra))
    config = ConfigDict(extra="allow" if spec.yearly_attr else "forbid")
    name = "".join(part.capitalize() for part in spec.name.split("-")) + suffix
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    return model


def _exists(engine: Engine, spec: KindSpec, key: str) -> bool:
    with engine.connect() as conn:
        return key in load_by_keys(conn, spec, [key])


def _write(request: Request, spec: KindSpec, record: dict[str, Any], actor: str) -> None:
    settings = request.app.state.settings
    import_records(
        engine_of(request),
        spec.name,
        [record],
        source=f"api:{spec.name}",
        actor=actor,
        zone=settings.zone,
        locale="ru",
    )


def _register(spec: KindSpec) -> None:
    create_body = _body_model(spec, suffix="Create")
    update_body = _body_model(spec, suffix="Update")
    path = f"/{spec.name}"
    key_name = spec.key
    reader = require(Permission.CMDB_READ)
    writer = require(Permission.CMDB_WRITE)

    @router.get(path, response_model=PageOut, responses=ERRORS, summary=f"{spec.title_ru}: список")
    def list_kind(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
        request: Request,
        principal: Annotated[Principal, Depends(reader)],
        q: Annotated[
            str | None, Query(max_length=200, description="поиск по ключу и названию")
        ] = None,
        sort: Annotated[str | None, Query(max_length=64)] = None,
        order: Annotated[Literal["asc", "desc"], Query()] = "asc",
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int | None, Query(ge=1, le=10_000)] = None,
        filter_: Annotated[
            list[str] | None,
            Query(alias="filter", description="поле=значение (можно несколько)", max_length=20),
        ] = None,
    ) -> PageOut:
        limits = request.app.state.api_settings
        size = min(per_page or limits.default_page_size, limits.max_page_size)
        filters: dict[str, str] = {}
        for item in filter_ or []:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise BadQuery("filter", f"ожидается поле=значение, получено {item!r}")
            filters[name.strip()] = value
        result = list_records(
            engine_of(request),
            spec.name,
            zone=request.app.state.settings.zone,
            filters=filters,
            q=q,
            sort=sort,
            descending=order == "desc",
            page=page,
            per_page=size,
        )
        return PageOut(
            kind=result.kind,
            total=result.total,
            page=result.page,
            per_page=result.per_page,
            items=result.items,
        )

    list_kind.__name__ = f"list_{spec.name.replace('-', '_')}"

    @router.get(f"{path}/{{key}}", responses=ERRORS, summary=f"{spec.title_ru}: объект")
    def get_kind(
        request: Request, key: str, principal: Annotated[Principal, Depends(reader)]
    ) -> dict[str, Any]:
        return get_record(engine_of(request), spec.name, key, request.app.state.settings.zone)

    get_kind.__name__ = f"get_{spec.name.replace('-', '_')}"

    @router.post(path, status_code=201, responses=ERRORS, summary=f"{spec.title_ru}: создать")
    def create_kind(
        request: Request,
        principal: Annotated[Principal, Depends(writer)],
        body: Annotated[create_body, Body()],  # type: ignore[valid-type]
    ) -> dict[str, Any]:
        record = body.model_dump(mode="json", exclude_none=True)  # type: ignore[attr-defined]
        key = record.get(key_name)
        if key is None or str(key).strip() == "":
            raise BadQuery(key_name, "ключевое поле обязательно")
        key = str(key).strip()
        engine = engine_of(request)
        if _exists(engine, spec, key):
            raise Conflict(f"{spec.title_ru}: объект {key!r} уже существует")
        _write(request, spec, record, principal.username)
        return get_record(engine, spec.name, key, request.app.state.settings.zone)

    create_kind.__name__ = f"create_{spec.name.replace('-', '_')}"

    @router.patch(f"{path}/{{key}}", responses=ERRORS, summary=f"{spec.title_ru}: изменить")
    def update_kind(
        request: Request,
        key: str,
        principal: Annotated[Principal, Depends(writer)],
        body: Annotated[update_body, Body()],  # type: ignore[valid-type]
    ) -> dict[str, Any]:
        record = body.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
        given = record.get(key_name)
        if given is not None and str(given) != key:
            raise BadQuery(key_name, "ключ объекта менять нельзя; создайте новый объект")
        engine = engine_of(request)
        if not _exists(engine, spec, key):
            raise NotFound(spec.name, key)
        record[key_name] = key
        if len(record) > 1:
            _write(request, spec, record, principal.username)
        return get_record(engine, spec.name, key, request.app.state.settings.zone)

    update_kind.__name__ = f"update_{spec.name.replace('-', '_')}"

    @router.delete(
        f"{path}/{{key}}", status_code=204, responses=ERRORS, summary=f"{spec.title_ru}: удалить"
    )
    def delete_kind(
        request: Request, key: str, principal: Annotated[Principal, Depends(writer)]
    ) -> Response:
        delete_record(
            engine_of(request),
            spec.name,
            key,
            actor=principal.username,
            zone=request.app.state.settings.zone,
            source="api",
        )
        return Response(status_code=204)

    delete_kind.__name__ = f"delete_{spec.name.replace('-', '_')}"


for _spec in KINDS.values():
    _register(_spec)
