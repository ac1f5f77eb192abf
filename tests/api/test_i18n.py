"""The UI's catalogues: every message shown through ``_()`` has one Russian translation."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

API = Path(__file__).resolve().parents[2] / "api"
CALL = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<text>(?:(?!(?P=q)).)+)(?P=q)""")


def _catalogues() -> dict[str, dict[str, str]]:
    """msgid → {file: translation} over every Russian .po file."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for path in sorted((API / "locale" / "ru" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="ru"):
                if message.id and isinstance(message.id, str):
                    found[message.id][path.name] = str(message.string or "")
    return found


@pytest.mark.backend_neutral
def test_no_message_has_two_different_translations() -> None:
    clashes = {
        msgid: files for msgid, files in _catalogues().items() if len(set(files.values())) > 1
    }
    assert clashes == {}


@pytest.mark.backend_neutral
def test_every_ui_message_is_translated_to_russian() -> None:
    catalogue = _catalogues()
    missing: set[tuple[str, str]] = set()
    sources = [*API.glob("templates/**/*.html"), *API.glob("web/*.py")]
    assert sources
    for path in sources:
        for match in CALL.finditer(path.read_text(encoding="utf-8")):
            text = match.group("text")
            translations = catalogue.get(text, {})
            if not any(translations.values()):
                missing.add((path.relative_to(API).as_posix(), text))
    assert sorted(missing) == []
