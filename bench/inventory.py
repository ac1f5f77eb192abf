"""Benchmark: ``ansible-inventory --list`` through the CMDB inventory vs a static YAML inventory.

A CMDB with the demo region (scale 1: ~34k hosts = devices + AWPs) is built in a fresh SQLite
file (or ``--database-url`` for PostgreSQL, in a schema of its own dropped afterwards). The static
floor is a YAML inventory of the very same hosts, groups and variables, written from the CMDB
inventory's own output. Both are run as the real ``ansible-inventory -i SOURCE --list``,
interleaved, ``--repeat`` times; the best time of each is compared. The first round also checks
that both outputs describe the same inventory (hosts, group members, host variables).

The last line is ``ratio_vs_static=X.XX hosts=N`` (goal: ≤ 1.5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import create_engine, text

from cmdb import demo
from cmdb.db import make_engine
from cmdb.migrate import upgrade
from provision.inventory import build_inventory

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"
ZONE = ZoneInfo("Europe/Moscow")


class _Unsafe(str):
    """A string Ansible must not template (``!unsafe`` in YAML)."""


def _yaml_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return _Unsafe(value["__ansible_unsafe"])
        return {k: _yaml_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_yaml_value(v) for v in value]
    return value


def write_static(inventory: dict[str, Any], path: Path) -> None:
    """The same inventory as a static YAML file: hosts with their vars, groups with members."""
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    dumper.add_representer(
        _Unsafe,
        lambda d, v: d.represent_scalar("!unsafe", str(v)),  # type: ignore[no-any-return]
    )
    hostvars = inventory["_meta"]["hostvars"]
    children = {
        name: {"hosts": dict.fromkeys(group["hosts"])}
        for name, group in inventory.items()
        if name not in ("_meta", "all") and group.get("hosts")
    }
    document = {
        "all": {
            "hosts": {host: _yaml_value(hv) for host, hv in hostvars.items()},
            "children": children,
        }
    }
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle, Dumper=dumper, allow_unicode=True, sort_keys=False)


def _run(source: str, env: dict[str, str], out: Path) -> float:
    start = time.perf_counter()
    with out.open("wb") as handle:
        subprocess.run(
            [str(ANSIBLE_INVENTORY), "-i", source, "--list"],
            stdout=handle,
            stderr=subprocess.PIPE,
            env=env,
            check=True,
        )
    return time.perf_counter() - start


def _members(listing: dict[str, Any]) -> dict[str, set[str]]:
    return {
        name: set(group.get("hosts", []))
        for name, group in listing.items()
        if name not in ("_meta", "all", "ungrouped") and group.get("hosts")
    }


def _same(a: Path, b: Path) -> None:
    left, right = json.loads(a.read_bytes()), json.loads(b.read_bytes())
    assert left["_meta"]["hostvars"] == right["_meta"]["hostvars"], "host variables differ"
    assert _members(left) == _members(right), "group members differ"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL URL (a schema is created and dropped)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kontur-bench-inventory-") as tmp:
        folder = Path(tmp)
        schema = None
        if args.database_url:
            schema = f"bench_inventory_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.database_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.database_url else "?"
            url = f"{args.database_url}{sep}options={quote(f'-csearch_path={schema}')}"
        else:
            url = f"sqlite:///{folder / 'kontur.db'}"
        try:
            engine = make_engine(url)
            upgrade(engine)
            started = time.perf_counter()
            demo.load(
                engine, scale=args.scale, actor="bench", zone=ZONE, today=dt.date(2026, 1, 15)
            )
            print(f"demo region loaded in {time.perf_counter() - started:.1f} s")
            inventory = build_inventory(engine)
            engine.dispose()
            hosts = len(inventory["_meta"]["hostvars"])
            static = folder / "static.yml"
            write_static(inventory, static)
            print(f"static inventory: {static.stat().st_size / 1e6:.1f} MB, {hosts} hosts")

            env = {**os.environ, "KONTUR_DATABASE_URL": url}
            env["PATH"] = os.pathsep.join([str(ANSIBLE_INVENTORY.parent), env.get("PATH", "")])
            cmdb_times: list[float] = []
            static_times: list[float] = []
            for i in range(args.repeat):
                cmdb_out, static_out = folder / "cmdb.json", folder / "static.json"
                cmdb_times.append(_run(str(ROOT / "inventory"), env, cmdb_out))
                static_times.append(_run(str(static), env, static_out))
                if i == 0:
                    _same(cmdb_out, static_out)
                print(
                    f"round {i + 1}: cmdb {cmdb_times[-1]:.2f} s, static {static_times[-1]:.2f} s"
                )
        finally:
            if schema is not None:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    ratio = min(cmdb_times) / min(static_times)
    print(f"best: cmdb {min(cmdb_times):.2f} s, static {min(static_times):.2f} s")
    print(f"ratio_vs_static={ratio:.2f} hosts={hosts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
