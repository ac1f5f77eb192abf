"""UI translations: gettext catalogues (``api/locale/<lang>/LC_MESSAGES/*.po``), read with Babel.

Message ids are English; ``ru`` (the default) translates them, ``en`` shows them as they are.
Every ``.po`` file of a language is merged, so each area of the UI keeps its own catalogue.
Dates in Russian are DD.MM.YYYY and times are shown in the region's time zone.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

LOCALE_DIR: Final = Path(__file__).parent / "locale"
LANGUAGES: Final = ("ru", "en")
DEFAULT_LANGUAGE: Final = "ru"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid → translation for ``lang`` (empty translations are left out)."""
    out: dict[str, str] = {}
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                if message.id and isinstance(message.id, str) and message.string:
                    out[message.id] = str(message.string)
    return out


def gettext(lang: str, message: str) -> str:
    if lang == "en":
        return message
    return catalogue(lang).get(message, message)


def format_date(value: dt.date | None, lang: str) -> str:
    if value is None:
        return "—"
    return value.strftime("%d.%m.%Y") if lang == "ru" else value.isoformat()


def format_datetime(value: dt.datetime | None, lang: str, zone: dt.tzinfo) -> str:
    if value is None:
        return "—"
    local = value.astimezone(zone)
    return local.strftime("%d.%m.%Y %H:%M") if lang == "ru" else local.strftime("%Y-%m-%d %H:%M")
