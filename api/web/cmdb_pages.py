"""CMDB pages: the index of kinds, lists with search/filters/sort/pages, a record with its audit
history and current state, and the create/edit/delete forms generated from the kind's columns.

Writes go through :func:`cmdb.importer.import_records` (the same checks as a file import, audited
under the signed-in user's name); on any error the form comes back with each reason next to its
field, the user's input kept and nothing written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import engine_of, require
from api.permissions import Permission, allowed
from api.web.common import render
from cmdb.choices import LABELS_RU
from cmdb.errors import Conflict, ImportFailed, NotFound
from cmdb.fields import Column, Kind
from cmdb.importer import import_records, load_by_keys
from cmdb.journal import JournalFilter, journal_page
from cmdb.kinds import KINDS, OBJECT_KINDS, KindSpec
from cmdb.listing import BadQuery, list_records
from cmdb.services import counts, delete_record, get_record
from cmdb.status_queries import object_status
from cmdb.users import Principal

router = APIRouter(include_in_schema=False)

READ = require(Permission.CMDB_READ, page=True)
WRITE = require(Permission.CMDB_WRITE, page=True)

#: Columns shown in a list (besides the natural key, which always comes first).
LIST_COLUMNS: Final = 7
PER_PAGE: Final = 25
#: CMDB kind → ledger object kind (for the current state on a record's page).
LEDGER_KINDS: Final = {kind: obj for obj, kind in OBJECT_KINDS.items()}
#: Kinds an engineer works with, first on the index.
ENGINEER_KINDS: Final = ("sites", "devices", "workstations", "channels", "vipnet-nodes")


def _clean(text: str) -> str:
    """User text without NUL characters (PostgreSQL refuses them in any string)."""
    return text.replace("\x00", "")


def _not_found(request: Request, what: str) -> Response:
    return render(request, "cmdb/not_found.html", status_code=404, what=what)


def _can_write(principal: Principal) -> bool:
    return allowed(principal.role, Permission.CMDB_WRITE)


def _yes_no(value: bool, lang: str) -> str:
    if lang == "ru":
        return "да" if value else "нет"
    return "yes" if value else "no"


@dataclass(frozen=True)
class Cell:
    """A value as shown: text, and a link for references."""

    text: str
    href: str | None = None


def show(col: Column, value: Any, lang: str, zone: dt.tzinfo) -> Cell:
    """A snapshot value (see :func:`cmdb.importer.snapshot`) for people: labels, DD.MM.YYYY."""
    if value is None or value == "":
        return Cell("—")
    if col.kind is Kind.REF and col.ref:
        return Cell(str(value), f"/cmdb/{col.ref}/{value}")
    if col.kind is Kind.ENUM:
        text = str(value)
        return Cell(LABELS_RU.get(text, text) if lang == "ru" else text)
    if col.kind is Kind.BOOL:
        return Cell(_yes_no(bool(value), lang))
    if col.kind is Kind.DATE:
        day = dt.date.fromisoformat(str(value))
        return Cell(day.strftime("%d.%m.%Y") if lang == "ru" else day.isoformat())
    if col.kind is Kind.DATETIME:
        moment = dt.datetime.fromisoformat(str(value)).astimezone(zone)
        pattern = "%d.%m.%Y %H:%M" if lang == "ru" else "%Y-%m-%d %H:%M"
        return Cell(moment.strftime(pattern))
    if col.kind is Kind.OBJECTS and isinstance(value, list):
        return Cell("; ".join(f"{o['kind']}:{o['key']}" for o in value))
    return Cell(str(value))


def column_title(col: Column, lang: str) -> str:
    return col.ru if lang == "ru" else col.name.replace("_", " ")


def kind_title(spec: KindSpec, lang: str) -> str:
    return spec.title_ru if lang == "ru" else spec.name


def _lang(request: Request) -> str:
    from api.web.common import language

    return language(request, getattr(request.state, "principal", None))


# --- the index and lists ------------------------------------------------------------------------


@router.get("/cmdb")
def cmdb_index(request: Request, principal: Annotated[Principal, Depends(READ)]) -> Response:
    lang = _lang(request)
    found = counts(engine_of(request))
    order = [*ENGINEER_KINDS, *(k for k in KINDS if k not in ENGINEER_KINDS)]
    kinds = [(name, kind_title(KINDS[name], lang), found.get(name, 0)) for name in order]
    return render(request, "cmdb/index.html", kinds=kinds, can_write=_can_write(principal))


def _filter_columns(spec: KindSpec) -> list[Column]:
    """Columns a list can be filtered by on the page: enums, yes/no and references."""
    return [
        c
        for c in spec.columns
        if c.kind in (Kind.ENUM, Kind.BOOL, Kind.REF) and c.name != "synthetic"
    ]


def _list_columns(spec: KindSpec) -> list[Column]:
    rest = [
        c
        for c in spec.columns
        if c.name not in (spec.key, "synthetic") and c.kind is not Kind.OBJECTS
    ]
    return [spec.key_column, *rest[: LIST_COLUMNS - 1]]


@router.get("/cmdb/{kind}")
def cmdb_list(
    request: Request, kind: str, principal: Annotated[Principal, Depends(READ)]
) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        return _not_found(request, kind)
    lang = _lang(request)
    zone: dt.tzinfo = request.app.state.settings.zone
    params = request.query_params
    q = _clean(params.get("q", ""))[:200]
    filter_cols = _filter_columns(spec)
    filters = {
        c.name: _clean(params[f"f_{c.name}"])[:255]
        for c in filter_cols
        if params.get(f"f_{c.name}", "").strip()
    }
    names = {c.name for c in spec.columns if c.kind is not Kind.OBJECTS}
    sort = params.get("sort") if params.get("sort") in names else None
    descending = params.get("order") == "desc"
    try:
        page_no = max(1, min(int(params.get("page", "1")), 1_000_000))
    except ValueError:
        page_no = 1
    error = None
    try:
        result = list_records(
            engine_of(request),
            kind,
            zone=zone,
            filters=filters,
            q=q or None,
            sort=sort,
            descending=descending,
            page=page_no,
            per_page=PER_PAGE,
        )
    except BadQuery as exc:
        error = f"{exc.parameter}: {exc.reason}"
        result = list_records(engine_of(request), kind, zone=zone, per_page=PER_PAGE)
        filters = {}
    columns = _list_columns(spec)
    rows = [
        (str(item[spec.key]), [show(c, item.get(c.name), lang, zone) for c in columns])
        for item in result.items
    ]
    pages = max(1, -(-result.total // PER_PAGE))
    keep = {"q": q, **{f"f_{n}": v for n, v in filters.items()}}
    keep = {k: v for k, v in keep.items() if v}

    def link(**changes: Any) -> str:
        merged = {**keep, "sort": sort or "", "order": "desc" if descending else "", **changes}
        return f"/cmdb/{kind}?" + urlencode(
            {k: v for k, v in merged.items() if v not in ("", None)}
        )

    def sort_link(name: str) -> str:
        flip = sort == name and not descending
        return link(sort=name, order="desc" if flip else "", page="")

    filter_fields = [
        {
            "col": c,
            "title": column_title(c, lang),
            "value": filters.get(c.name, ""),
            "options": _options(c, lang),
        }
        for c in filter_cols
    ]
    return render(
        request,
        "cmdb/list.html",
        kind=kind,
        spec=spec,
        title=kind_title(spec, lang),
        columns=[(c.name, column_title(c, lang)) for c in columns],
        rows=rows,
        total=result.total,
        page=result.page,
        pages=pages,
        q=q,
        sort=sort,
        descending=descending,
        filter_fields=filter_fields,
        error=error,
        link=link,
        sort_link=sort_link,
        can_write=_can_write(principal),
    )


def _options(col: Column, lang: str) -> list[tuple[str, str]]:
    if col.kind is Kind.ENUM and col.enum is not None:
        return [
            (m.value, LABELS_RU.get(m.value, m.value) if lang == "ru" else m.value)
            for m in col.enum
        ]
    if col.kind is Kind.BOOL:
        return [("true", _yes_no(True, lang)), ("false", _yes_no(False, lang))]
    return []


# --- one record ---------------------------------------------------------------------------------


@router.get("/cmdb/{kind}/new")
def cmdb_new_form(
    request: Request, kind: str, principal: Annotated[Principal, Depends(WRITE)]
) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        return _not_found(request, kind)
    values = {c.name: _form_default(c) for c in spec.columns}
    return _form_page(request, spec, values, errors={}, key=None)


@router.post("/cmdb/{kind}/new")
async def cmdb_create(
    request: Request, kind: str, principal: Annotated[Principal, Depends(WRITE)]
) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        return _not_found(request, kind)
    values = await _form_values(request, spec)
    key = values.get(spec.key, "").strip()
    taken: bool = bool(key) and await run_in_threadpool(_exists, request, spec, key)
    if taken:
        lang = _lang(request)
        message = (
            f"объект с ключом «{key}» уже существует"
            if lang == "ru"
            else f"an object with key “{key}” already exists"
        )
        return _form_page(request, spec, values, errors={spec.key: [message]}, key=None)
    return await _save(request, spec, values, principal, key=None)


def _exists(request: Request, spec: KindSpec, key: str) -> bool:
    if "\x00" in key:
        return False
    with engine_of(request).connect() as conn:
        return key in load_by_keys(conn, spec, [key])


@router.get("/cmdb/{kind}/{key}")
def cmdb_detail(
    request: Request, kind: str, key: str, principal: Annotated[Principal, Depends(READ)]
) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        return _not_found(request, kind)
    lang = _lang(request)
    zone: dt.tzinfo = request.app.state.settings.zone
    engine = engine_of(request)
    try:
        if "\x00" in key:
            raise NotFound(kind, key)
        record = get_record(engine, kind, key, zone)
    except NotFound:
        return _not_found(request, f"{kind_title(spec, lang)} {key}")
    fields = [
        (column_title(c, lang), show(c, record.get(c.name), lang, zone)) for c in spec.columns
    ]
    if spec.yearly_attr:
        for year, value in sorted((record.get(spec.yearly_attr) or {}).items()):
            fields.append((f"{'план' if lang == 'ru' else 'plan'} {year}", Cell(str(value))))
    history = journal_page(engine, JournalFilter(entity=spec.entity, key=key), zone, per_page=20)
    status = None
    if kind in LEDGER_KINDS:
        status = object_status(engine, LEDGER_KINDS[kind], key, limit=10)
    return render(
        request,
        "cmdb/detail.html",
        kind=kind,
        key=key,
        title=kind_title(spec, lang),
        fields=fields,
        history=history,
        status=status,
        saved=request.query_params.get("saved") == "1",
        can_write=_can_write(principal),
        can_audit=allowed(principal.role, Permission.AUDIT_READ),
    )


@router.get("/cmdb/{kind}/{key}/edit")
def cmdb_edit_form(
    request: Request, kind: str, key: str, principal: Annotated[Principal, Depends(WRITE)]
) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        return _not_found(request, kind)
    zone: dt.tzinfo = request.app.state.settings.zone
    if not _exists(request, spec, key):
        return _not_found(request, f"{kind} {key}")
    try:
        record = get_record(engine_of(request), kind, key, zone)
    except NotFound:
        return _not_found(request, f"{kind} {key}")
    values = {c.name: _form_value(c, record.get(c.name), zone) for c in spec.columns}
    if spec.yearly_attr:
        for year, value in sorted((record.get(spec.yearly_attr) or {}).items()):
            values[f"plan_{year}"] = str(value)
    return _form_page(request, spec, values, errors={}, key=key)


@router.post("/cmdb/{kind}/{key}/edit")
async def cmdb_update(
    request: Request, kind: str, key: str, principal: Annotated[Principal, Depends(WRITE)]
) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        return _not_found(request, kind)
    if not await run_in_threadpool(_exists, request, spec, key):
        return _not_found(request, f"{kind} {key}")
    values = await _form_values(request, spec)
    values[spec.key] = key  # the natural key is not edited: another key is another object
    return await _save(request, spec, values, principal, key=key)


@router.get("/cmdb/{kind}/{key}/delete")
def cmdb_delete_form(
    request: Request, kind: str, key: str, principal: Annotated[Principal, Depends(WRITE)]
) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        return _not_found(request, kind)
    if not _exists(request, spec, key):
        return _not_found(request, f"{kind} {key}")
    lang = _lang(request)
    return render(
        request,
        "cmdb/delete.html",
        kind=kind,
        key=key,
        title=kind_title(spec, lang),
        conflict=None,
    )


@router.post("/cmdb/{kind}/{key}/delete")
async def cmdb_delete(
    request: Request, kind: str, key: str, principal: Annotated[Principal, Depends(WRITE)]
) -> Response:
    spec = KINDS.get(kind)
    if spec is None:
        return _not_found(request, kind)
    zone: dt.tzinfo = request.app.state.settings.zone
    if not await run_in_threadpool(_exists, request, spec, key):
        return _not_found(request, f"{kind} {key}")
    try:
        await run_in_threadpool(
            delete_record,
            engine_of(request),
            kind,
            key,
            actor=principal.username,
            zone=zone,
            source="web",
        )
    except NotFound:
        return _not_found(request, f"{kind} {key}")
    except Conflict as exc:
        return render(
            request,
            "cmdb/delete.html",
            status_code=409,
            kind=kind,
            key=key,
            title=kind_title(spec, _lang(request)),
            conflict=str(exc),
        )
    return RedirectResponse(f"/cmdb/{kind}?deleted={key}", status_code=303)


# --- forms --------------------------------------------------------------------------------------


def _form_default(col: Column) -> str:
    if col.default is None:
        return ""
    if isinstance(col.default, bool):
        return "true" if col.default else ""
    return str(col.default)


def _form_value(col: Column, value: Any, zone: dt.tzinfo) -> str:
    """A snapshot value as the form's input holds it."""
    if value is None:
        return ""
    if col.kind is Kind.BOOL:
        return "true" if value else ""
    if col.kind is Kind.DATETIME:
        return dt.datetime.fromisoformat(str(value)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    if col.kind is Kind.OBJECTS and isinstance(value, list):
        return "; ".join(f"{o['kind']}:{o['key']}" for o in value)
    return str(value)


async def _form_values(request: Request, spec: KindSpec) -> dict[str, str]:
    form = await request.form()
    values: dict[str, str] = {}
    for col in spec.columns:
        raw = form.get(col.name)
        text = _clean(raw) if isinstance(raw, str) else ""
        if col.kind is Kind.BOOL:
            values[col.name] = "true" if text else ""
        else:
            values[col.name] = text.strip()
    if spec.yearly_attr:
        for name, raw in form.multi_items():
            if isinstance(raw, str) and spec.yearly_column_year(name) is not None:
                values[name] = raw.strip()
    return values


def _record(spec: KindSpec, values: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for col in spec.columns:
        value = values.get(col.name, "")
        record[col.name] = ("true" if value else "false") if col.kind is Kind.BOOL else value
    for name, value in values.items():
        if name not in record and value:
            record[name] = value
    return record


async def _save(
    request: Request,
    spec: KindSpec,
    values: dict[str, str],
    principal: Principal,
    *,
    key: str | None,
) -> Response:
    lang = _lang(request)
    settings = request.app.state.settings
    try:
        await run_in_threadpool(
            import_records,
            engine_of(request),
            spec.name,
            [_record(spec, values)],
            source=f"web:{spec.name}",
            actor=principal.username,
            zone=settings.zone,
            locale=lang,
        )
    except ImportFailed as exc:
        names = {c.name for c in spec.columns} | set(values)
        errors: dict[str, list[str]] = {}
        for err in exc.errors:
            errors.setdefault(err.column if err.column in names else "", []).append(err.reason)
        return _form_page(request, spec, values, errors=errors, key=key, status_code=422)
    target = key or values.get(spec.key, "")
    if spec.key_column.kind is Kind.VIPNET_ID:
        from cmdb.fields import normalize_vipnet_id

        target = normalize_vipnet_id(target)  # valid: the import has just accepted it
    return RedirectResponse(f"/cmdb/{spec.name}/{target}?saved=1", status_code=303)


@dataclass(frozen=True)
class FormField:
    name: str
    title: str
    input: str  # text, number, date, datetime-local, select, checkbox, textarea
    value: str
    required: bool
    options: list[tuple[str, str]]
    ref: str | None
    ref_key: str | None
    max_len: int | None
    readonly: bool
    errors: list[str]
    hint: str


def _input_kind(col: Column) -> str:
    return {
        Kind.INT: "number",
        Kind.DATE: "date",
        Kind.DATETIME: "datetime-local",
        Kind.ENUM: "select",
        Kind.BOOL: "checkbox",
    }.get(col.kind, "textarea" if col.max_len is None and col.kind is Kind.STR else "text")


def _hint(col: Column, lang: str) -> str:
    ru = lang == "ru"
    if col.kind is Kind.REF and col.ref:
        ref = KINDS[col.ref]
        return f"ключ: {ref.key_column.ru}" if ru else f"key: {ref.key}"
    if col.kind is Kind.IP:
        return "IPv4 или IPv6" if ru else "IPv4 or IPv6"
    if col.kind is Kind.VIPNET_ID:
        return "например 0x07c40001" if ru else "e.g. 0x07c40001"
    if col.kind is Kind.OBJECTS:
        return "вид:ключ; вид:ключ (site, device, channel…)" if ru else "kind:key; kind:key"
    if col.kind in (Kind.DECIMAL, Kind.FLOAT):
        return "число" if ru else "number"
    return ""


def _form_page(
    request: Request,
    spec: KindSpec,
    values: dict[str, str],
    *,
    errors: dict[str, list[str]],
    key: str | None,
    status_code: int = 200,
) -> Response:
    lang = _lang(request)
    fields = []
    for col in spec.columns:
        fields.append(
            FormField(
                name=col.name,
                title=column_title(col, lang),
                input=_input_kind(col),
                value=values.get(col.name, ""),
                required=col.required,
                options=_options(col, lang),
                ref=col.ref,
                ref_key=KINDS[col.ref].key if col.ref else None,
                max_len=col.max_len,
                readonly=key is not None and col.name == spec.key,
                errors=errors.get(col.name, []),
                hint=_hint(col, lang),
            )
        )
    for name, value in values.items():
        if spec.yearly_column_year(name) is not None:
            fields.append(
                FormField(
                    name=name,
                    title=name,
                    input="text",
                    value=value,
                    required=False,
                    options=[],
                    ref=None,
                    ref_key=None,
                    max_len=None,
                    readonly=False,
                    errors=errors.get(name, []),
                    hint="",
                )
            )
    return render(
        request,
        "cmdb/form.html",
        status_code=status_code,
        kind=spec.name,
        key=key,
        title=kind_title(spec, lang),
        fields=fields,
        general_errors=errors.get("", []),
    )
