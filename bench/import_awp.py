"""Benchmark: `kontur import workstations` of 35k AWPs vs a bare Core executemany floor.

Both run in the same process against the same freshly migrated database (SQLite file by default,
or --database-url for PostgreSQL, in a schema of its own that is dropped afterwards). The floor
inserts the very same rows, already parsed and with site ids resolved, with one SQLAlchemy Core
``executemany`` and nothing else. The import reads the CSV, validates every cell, resolves the
site codes, writes the rows and one audit entry per row, in one transaction. Each is run
``--repeat`` times on an emptied table; the best time of each is compared.

The last line is ``ratio_vs_floor=X.XX rows=N`` (goal: ≤ 3 on SQLite and on PostgreSQL).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, delete, insert, select, text

from cmdb.db import make_engine
from cmdb.importer import import_file, import_records
from cmdb.migrate import upgrade
from cmdb.models import AuditEntry, Site, Workstation

ZONE = ZoneInfo("Europe/Moscow")
SITES = 1000


def _prepare(engine: Engine) -> None:
    upgrade(engine)
    import_records(engine, "regions", [{"code": "23", "name": "Краснодарский край"}],
                   source="bench", actor="bench", zone=ZONE)  # fmt: skip
    sites = [{"code": f"S-{i:04d}", "name": f"ТВСП {i}", "kind": "mo_unit"} for i in range(SITES)]
    import_records(engine, "sites", sites, source="bench", actor="bench", zone=ZONE)


def _csv(path: Path, rows: int) -> list[dict[str, object]]:
    records = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hostname", "site", "inventory_number", "os", "protected_network"])
        for i in range(rows):
            record = {
                "hostname": f"arm-{i:06d}", "site": f"S-{i % SITES:04d}",
                "inventory_number": f"ИН-{i:06d}", "os": "Astra Linux SE 1.7",
                "protected_network": i % 10 != 0,
            }  # fmt: skip
            writer.writerow(["true" if v is True else "false" if v is False else v
                             for v in record.values()])  # fmt: skip
            records.append(record)
    return records


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(Workstation))
        conn.execute(delete(AuditEntry).where(AuditEntry.entity == "workstation"))


def _floor(engine: Engine, records: list[dict[str, object]]) -> float:
    with engine.connect() as conn:
        site_ids = dict(conn.execute(select(Site.code, Site.id)).all())
    now = dt.datetime.now(dt.UTC)
    rows = [
        {"hostname": r["hostname"], "site_id": site_ids[r["site"]],
         "inventory_number": r["inventory_number"], "os": r["os"],
         "protected_network": r["protected_network"], "synthetic": False,
         "created_at": now, "updated_at": now}
        for r in records
    ]  # fmt: skip
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Workstation), rows)
    return time.perf_counter() - start


def _import(engine: Engine, path: Path, rows: int) -> float:
    start = time.perf_counter()
    result = import_file(engine, "workstations", path, actor="bench", zone=ZONE)
    elapsed = time.perf_counter() - start
    assert result.created == rows, result
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--rows", type=int, default=35_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        admin = None
        if args.database_url:
            schema = f"kontur_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.database_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.database_url else "?"
            url = f"{args.database_url}{sep}options={quote(f'-csearch_path={schema}')}"
        else:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        try:
            _prepare(engine)
            path = Path(tmp) / "awp.csv"
            records = _csv(path, args.rows)
            floors, imports = [], []
            for _ in range(args.repeat):
                _clear(engine)
                floors.append(_floor(engine, records))
                _clear(engine)
                imports.append(_import(engine, path, args.rows))
            floor, imp = min(floors), min(imports)
            print(f"backend={engine.dialect.name} rows={args.rows} repeat={args.repeat}")
            print(f"floor_core_executemany_s={floor:.3f} ({args.rows / floor:,.0f} rows/s)")
            print(f"kontur_import_s={imp:.3f} ({args.rows / imp:,.0f} rows/s, with audit rows)")
            print(f"ratio_vs_floor={imp / floor:.2f} rows={args.rows}")
        finally:
            engine.dispose()
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
