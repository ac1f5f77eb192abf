"""User-facing messages in Russian (default) and English, and locale-aware date formatting."""

from __future__ import annotations

import datetime as dt
from typing import Any

CATALOG: dict[str, tuple[str, str]] = {
    # reading files
    "file.not_found": ("файл не найден", "file not found"),
    "file.unknown_format": (
        "неизвестный формат файла {suffix!r}: ожидается .csv, .xlsx, .json, .yaml",
        "unknown file format {suffix!r}: expected .csv, .xlsx, .json, .yaml",
    ),
    "file.encoding": (
        "не удалось определить кодировку (ожидается UTF-8 или Windows-1251): {detail}",
        "cannot determine the encoding (expected UTF-8 or Windows-1251): {detail}",
    ),
    "file.empty": ("файл пуст: нет строки заголовка", "the file is empty: no header row"),
    "file.bad_xlsx": ("не читается как XLSX: {detail}", "cannot be read as XLSX: {detail}"),
    "file.bad_json": ("не читается как JSON: {detail}", "cannot be read as JSON: {detail}"),
    "file.bad_yaml": ("не читается как YAML: {detail}", "cannot be read as YAML: {detail}"),
    "file.not_list": (
        "ожидается список объектов (или объект с ключом {kind!r})",
        "expected a list of objects (or an object with the key {kind!r})",
    ),
    "file.not_object": ("запись должна быть объектом", "a record must be an object"),
    "file.bad_csv": ("ошибка разбора CSV: {detail}", "CSV parse error: {detail}"),
    # header
    "col.unknown": (
        "неизвестный столбец; допустимы: {valid}",
        "unknown column; valid columns: {valid}",
    ),
    "col.missing": ("нет обязательного столбца", "required column missing"),
    "col.duplicate": ("столбец указан дважды", "column given twice"),
    # values
    "val.required": ("значение обязательно", "a value is required"),
    "val.too_long": ("длиннее {max} символов", "longer than {max} characters"),
    "val.int": ("не целое число: {value!r}", "not an integer: {value!r}"),
    "val.number": ("не число: {value!r}", "not a number: {value!r}"),
    "val.bool": (
        "не логическое значение: {value!r} (да/нет, true/false, 1/0)",
        "not a boolean: {value!r} (true/false, yes/no, 1/0)",
    ),
    "val.date": (
        "неверная дата: {value!r} (ожидается ДД.ММ.ГГГГ или ГГГГ-ММ-ДД)",
        "bad date: {value!r} (expected DD.MM.YYYY or YYYY-MM-DD)",
    ),
    "val.datetime": (
        "неверные дата и время: {value!r} (ожидается ДД.ММ.ГГГГ ЧЧ:ММ или ISO 8601)",
        "bad date and time: {value!r} (expected DD.MM.YYYY HH:MM or ISO 8601)",
    ),
    "val.daymonth": (
        "неверная дата в году: {value!r} (ожидается ДД.ММ)",
        "bad day of year: {value!r} (expected DD.MM)",
    ),
    "val.enum": (
        "недопустимое значение {value!r}; допустимы: {valid}",
        "invalid value {value!r}; valid: {valid}",
    ),
    "val.range": (
        "значение {value} вне диапазона {low}…{high}",
        "value {value} outside {low}…{high}",
    ),
    "val.oid": (
        "неверный OID {value!r}: ожидаются числа через точку (1.2.643.5.1.13.13.12.2.23.1)",
        "bad OID {value!r}: dot-separated numbers expected (1.2.643.5.1.13.13.12.2.23.1)",
    ),
    "val.inn": ("неверный ИНН {value!r}: 10 или 12 цифр", "bad INN {value!r}: 10 or 12 digits"),
    "val.ip": ("не IP-адрес: {value!r}", "not an IP address: {value!r}"),
    "val.ref": ("не найден(а) {kind} с ключом {value!r}", "no {kind} with key {value!r}"),
    "val.ref_kind": (
        "{kind} {value!r} имеет вид {actual!r}, а нужен один из: {valid}",
        "{kind} {value!r} is of kind {actual!r}, expected one of: {valid}",
    ),
    "val.duplicate_key": (
        "повторяющийся ключ {value!r} (уже в строке {first})",
        "duplicate key {value!r} (already in row {first})",
    ),
    "val.duplicate_unique": (
        "значение {value!r} уже занято: {other}",
        "value {value!r} is already used by {other}",
    ),
    "val.vipnet_id": (
        "неверный идентификатор ViPNet {value!r}: нужно 8 шестнадцатеричных цифр (0x07c40001)",
        "bad ViPNet ID {value!r}: 8 hex digits expected (0x07c40001)",
    ),
    "val.vipnet_network_mismatch": (
        "идентификатор {value} принадлежит сети {actual}, а не {expected}",
        "ID {value} belongs to network {actual}, not {expected}",
    ),
    "val.device_site": (
        "устройство {device!r} находится на площадке {actual!r}, а не {expected!r}",
        "device {device!r} is at site {actual!r}, not {expected!r}",
    ),
    "val.same_ends": (
        "концы A и Z совпадают",
        "A and Z ends are the same",
    ),
    "val.order": ("{later} должно быть позже {earlier}", "{later} must be after {earlier}"),
    "val.platform": (
        "неизвестная платформа {value!r}; допустимы: {valid}",
        "unknown platform {value!r}; valid: {valid}",
    ),
    "val.fact_query": (
        "неизвестный запрос факта {value!r}; допустимы: {valid}",
        "unknown fact query {value!r}; valid: {valid}",
    ),
    "val.schedule": (
        "для периодичности {recurrence!r} нужно: {need}",
        "recurrence {recurrence!r} needs: {need}",
    ),
    "val.object_ref": (
        "неверная ссылка на объект {value!r}: ожидается вид:ключ, виды: {valid}",
        "bad object reference {value!r}: expected kind:key, kinds: {valid}",
    ),
    "val.plan_year": (
        "неверный год плана в столбце {column!r}",
        "bad plan year in column {column!r}",
    ),
    "val.bound_twice": (
        "узел {value!r} уже привязан к {other}",
        "node {value!r} is already bound to {other}",
    ),
    "val.secret_like": (
        "похоже на секрет; в CMDB хранится только имя профиля учётных данных",
        "looks like a secret; the CMDB stores only the credential profile name",
    ),
    # CLI
    "cli.imported": (
        "{file}: {kind}: создано {created}, изменено {updated}, без изменений {unchanged}",
        "{file}: {kind}: {created} created, {updated} updated, {unchanged} unchanged",
    ),
    "cli.dry_run": ("пробный прогон: ничего не записано", "dry run: nothing written"),
    "cli.import_failed": (
        "{file}: ошибок: {count}; ничего не записано",
        "{file}: {count} error(s); nothing written",
    ),
    "cli.schema_missing": (
        "база данных не подготовлена (ревизия {current}, нужна {head}): "
        "выполните `kontur db upgrade`",
        "the database is not migrated (revision {current}, need {head}): run `kontur db upgrade`",
    ),
    "cli.db_unreachable": (
        "не удаётся открыть базу данных {url}: {detail}",
        "cannot open the database {url}: {detail}",
    ),
    "cli.config": ("ошибка настроек: {detail}", "configuration error: {detail}"),
    "cli.upgraded": (
        "схема базы данных: {before} → {after}",
        "database schema: {before} → {after}",
    ),
    "cli.up_to_date": (
        "схема базы данных актуальна ({rev})",
        "database schema is up to date ({rev})",
    ),
    "cli.not_found": ("{kind} {key!r} не найден(а)", "{kind} {key!r} not found"),
    "cli.deleted": ("удалено: {kind} {key!r}", "deleted: {kind} {key!r}"),
    "cli.still_referenced": (
        "нельзя удалить {kind} {key!r}: на него ссылаются другие записи ({detail})",
        "cannot delete {kind} {key!r}: other records refer to it ({detail})",
    ),
    "cli.demo_loaded": (
        "демо-регион загружен (масштаб {scale}): {counts}",
        "demo region loaded (scale {scale}): {counts}",
    ),
    "cli.demo_skipped": (
        "база данных не пуста: демо-регион не загружается (используйте --force для дозагрузки)",
        "the database is not empty: the demo region is not loaded (use --force to load over it)",
    ),
    "cli.exported": (
        "{kind}: выгружено записей: {count} → {target}",
        "{kind}: {count} records exported → {target}",
    ),
}


def t(locale: str, message: str, /, **params: Any) -> str:
    """Render ``message`` (a catalog key) in ``locale`` ('ru' or 'en') with ``params``."""
    ru, en = CATALOG[message]
    template = en if locale == "en" else ru
    return template.format(**params)


def fmt_date(value: dt.date | None, locale: str = "ru") -> str:
    """A date for people: DD.MM.YYYY in Russian, ISO in English; empty for None."""
    if value is None:
        return ""
    return value.strftime("%d.%m.%Y") if locale == "ru" else value.isoformat()


def fmt_datetime(value: dt.datetime | None, zone: dt.tzinfo, locale: str = "ru") -> str:
    """A moment for people, in the region's zone: DD.MM.YYYY HH:MM:SS in Russian."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    if locale == "ru":
        return local.strftime("%d.%m.%Y %H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S %Z")
