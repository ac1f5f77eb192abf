"""Ansible host patterns resolved against an inventory built here, and a playbook's play targets.

The gate needs to know which hosts a run would touch (its plays' ``hosts`` intersected with
``--limit``) to report refusals for those only. The subset of Ansible's pattern language that
inventories and runbooks use is supported: names of groups and hosts, ``all``/``*``, globs
(``fap_*``), regular expressions (``~^fap-00``), ``,`` or ``:`` separated lists, ``&`` (and),
``!`` (not), ``@FILE`` (one pattern a line). Host subscripts (``fap[0:9]``) are not: such a term
matches nothing here. This never widens a run: the runner restricts Ansible to the hosts the gate
allowed, or excludes every refused host, whatever this module resolves.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import yaml

_SPECIAL = ("*", "?", "[", "~")


def split(pattern: str) -> list[str]:
    """Split like Ansible: on commas if any, else on colons outside brackets."""
    if "," in pattern:
        parts = pattern.split(",")
    else:
        parts = re.findall(r"(?:[^\s:\[\]]|\[[^\]]*\])+", pattern)
    return [p.strip() for p in parts if p.strip()]


def _expand_files(terms: Iterable[str]) -> list[str]:
    result: list[str] = []
    for term in terms:
        if term.startswith("@"):
            lines = Path(term[1:]).read_text(encoding="utf-8").splitlines()
            result.extend(line.strip() for line in lines if line.strip())
        else:
            result.append(term)
    return result


def _match_one(term: str, groups: Mapping[str, Sequence[str]], hosts: AbstractSet[str]) -> set[str]:
    if term in ("all", "*"):
        return set(hosts)
    if term in groups:
        return set(groups[term])
    if not any(ch in term for ch in _SPECIAL):
        return {term} if term in hosts else set()
    if term.startswith("~"):
        regex = re.compile(term[1:])
        matches: Any = regex.match
    else:
        matches = re.compile(fnmatch.translate(term)).match
    found: set[str] = set()
    for name, members in groups.items():
        if matches(name):
            found.update(members)
    found.update(h for h in hosts if matches(h))
    return found


def resolve(pattern: str, groups: Mapping[str, Sequence[str]], hosts: AbstractSet[str]) -> set[str]:
    """The hosts ``pattern`` selects (unions, then ``&``, then ``!``, as Ansible does)."""
    terms = _expand_files(split(pattern))
    plain = [t for t in terms if not t.startswith(("&", "!"))]
    result: set[str] = set()
    for term in plain:
        result |= _match_one(term, groups, hosts)
    if not plain and terms:
        result = set(hosts)
    for term in terms:
        if term.startswith("&"):
            result &= _match_one(term[1:], groups, hosts)
    for term in terms:
        if term.startswith("!"):
            result -= _match_one(term[1:], groups, hosts)
    return result


def play_patterns(playbook: Path, _seen: frozenset[Path] = frozenset()) -> list[str]:
    """The ``hosts`` pattern of every play (following ``import_playbook``); ``all`` if unknown.

    A templated pattern (``{{ target }}``) or an unreadable file counts as ``all``: the gate then
    looks at every host the limit selects.
    """
    path = playbook.resolve()
    if path in _seen:
        return []
    try:
        plays = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return ["all"]
    if not isinstance(plays, list):
        return ["all"]
    patterns: list[str] = []
    for play in plays:
        if not isinstance(play, dict):
            continue
        imported = play.get("import_playbook") or play.get("ansible.builtin.import_playbook")
        if isinstance(imported, str):
            if "{{" in imported:
                return ["all"]
            patterns.extend(play_patterns(path.parent / imported, _seen | {path}))
            continue
        hosts = play.get("hosts")
        if isinstance(hosts, list):
            hosts = ",".join(str(h) for h in hosts)
        if not isinstance(hosts, str) or "{{" in hosts:
            return ["all"]
        patterns.append(hosts)
    return patterns


def targets(
    playbook: Path,
    limit: str | None,
    groups: Mapping[str, Sequence[str]],
    hosts: AbstractSet[str],
) -> set[str]:
    """The hosts a run of ``playbook`` with ``--limit limit`` would touch."""
    selected: set[str] = set()
    for pattern in play_patterns(playbook):
        selected |= resolve(pattern, groups, hosts)
    if limit:
        selected &= resolve(limit, groups, hosts)
    return selected
