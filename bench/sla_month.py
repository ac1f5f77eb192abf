"""Benchmark: the monthly uptime report of 10,000 channels vs one aggregate scan of their ledger.

Into a schema of its own on PostgreSQL (created, migrated and dropped here) go a small region
(5,000 FAPs with a primary and a backup channel each, so 10,000 channels, through the real
importer), and the status ledger written with COPY (``cmdb.bulk.bulk_insert``; the ledger's
triggers keep its month-boundary states as they would for a collector): per channel and vantage
point (two by default, as in production) about 25 transitions in the month, i.e. ~50 per
channel; outages are seen by both vantages a few seconds apart, and now and then one vantage
has a gap. ``--history-months`` earlier months of the same traffic sit in the table too, so the
state-before-start lookup and the floor's scan face a ledger that is not just the month.

* floor: one SQL aggregate scan of the month's rows,
  ``SELECT object_key, vantage, count(*), min(at), max(at) ... GROUP BY object_key, vantage``;
* maths: :func:`cmdb.sla.object_seconds` for the month: the ledger query (one per kind: the
  state at the last boundary before the month and the rows from there) and the exact seconds of
  every channel, computed from the database on every run;
* report: :func:`cmdb.sla.build_uptime_report`: the maths plus CMDB attributes, maintenance
  windows, groups and failover statistics (no rendering), printed as ``report_ratio_vs_floor``.

Best of ``--repeat`` runs each, interleaved. The last line is ``ratio_vs_floor=X.XX``: the maths
against the floor (goal ≤ 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
import uuid
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text

from cmdb.bulk import bulk_insert
from cmdb.db import make_engine
from cmdb.importer import import_records
from cmdb.migrate import upgrade
from cmdb.models import FailoverEvent, MaintenanceWindow, StatusTransition
from cmdb.sla import build_uptime_report, month_bounds, object_seconds

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ZONE = ZoneInfo("Europe/Moscow")
VANTAGES = ("dc-primary", "dc-reserve", "dc-third", "dc-fourth")


def _import(engine: Engine, kind: str, records: list[dict[str, Any]]) -> None:
    import_records(engine, kind, records, source="bench", actor="bench", zone=ZONE)


def _cmdb(engine: Engine, channels: int) -> list[str]:
    sites = channels // 2
    _import(engine, "regions", [{"code": "23", "name": "Краснодарский край"}])
    _import(engine, "districts", [
        {"code": f"D-{d:02d}", "name": f"Район {d}", "region": "23"} for d in range(40)
    ])  # fmt: skip
    organizations = [
        {"code": f"MO-{m:03d}", "kind": "mo", "short_name": f"ЦРБ {m}",
         "full_name": f"Центральная районная больница {m}", "district": f"D-{m % 40:02d}"}
        for m in range(100)
    ]  # fmt: skip
    organizations.append(
        {"code": "PRV", "kind": "provider", "short_name": "Связь", "full_name": "ООО Связь"}
    )
    _import(engine, "organizations", organizations)
    _import(engine, "sites", [
        {"code": "DC", "name": "ЦОД", "kind": "dc_primary", "district": "D-00"}
    ] + [
        {"code": f"FAP-{s:05d}", "name": f"ФАП {s}", "kind": "fap",
         "district": f"D-{s % 40:02d}", "organization": f"MO-{s % 100:03d}"}
        for s in range(sites)
    ])  # fmt: skip
    records = []
    for s in range(sites):
        for role, medium in (("primary", "fiber"), ("backup", "lte")):
            records.append({
                "key": f"CH-{s:05d}-{role[0].upper()}", "provider": "PRV", "medium": medium,
                "a_site": f"FAP-{s:05d}", "z_site": "DC", "role": role,
                "redundancy_group": f"FAP-{s:05d}-WAN", "sla_target_pct": "99.5",
            })  # fmt: skip
    _import(engine, "channels", records)
    return [r["key"] for r in records]


def _ledger(
    keys: list[str], args: argparse.Namespace, start: dt.datetime, end: dt.datetime,
    rnd: random.Random,
) -> list[dict[str, Any]]:  # fmt: skip
    """Rows for [start, end): shared outages seen a few seconds apart, and per-vantage gaps."""
    span = int((end - start).total_seconds() * 1e6)
    vantages = args.vantages
    episodes = max(args.transitions // (2 * vantages), 1)
    rows = []
    for key in keys:
        shared = sorted(rnd.sample(range(span - 120_000_000), 2 * episodes))
        for v in range(vantages):
            vantage = VANTAGES[v]
            points = [(t + rnd.randrange(5_000_000), "down" if i % 2 == 0 else "up")
                      for i, t in enumerate(shared)]  # fmt: skip
            if rnd.random() < 0.3:  # a gap: the collector of this vantage stopped for a while
                t = rnd.randrange(span - 7_200_000_000)
                points += [(t, "unknown"), (t + rnd.randrange(3_600_000_000), "up")]
            points.sort()
            previous = "up"
            last = -1
            for t, state in points:
                if t <= last or state == previous:
                    continue
                rows.append({
                    "object_kind": "channel", "object_key": key, "vantage": vantage,
                    "at": start + dt.timedelta(microseconds=t), "state": state,
                    "previous": previous, "reason": "bench", "source": "bench",
                })  # fmt: skip
                previous, last = state, t
    return rows


def _prepare(engine: Engine, args: argparse.Namespace) -> tuple[dt.datetime, dt.datetime, int]:
    upgrade(engine)
    keys = _cmdb(engine, args.channels)
    rnd = random.Random(20261101)
    start, end = month_bounds(args.month, ZONE)
    month_rows = 0
    with engine.begin() as conn:
        first = start - dt.timedelta(days=31 * args.history_months + 1)
        bulk_insert(conn, StatusTransition.__table__, [  # type: ignore[arg-type]
            {"object_kind": "channel", "object_key": key, "vantage": VANTAGES[v], "at": first,
             "state": "up", "previous": None, "reason": "bench", "source": "bench"}
            for key in keys for v in range(args.vantages)
        ])  # fmt: skip
        for back in range(args.history_months, -1, -1):
            a = start - dt.timedelta(days=31 * back)
            b = end if back == 0 else a + dt.timedelta(days=31)
            rows = _ledger(keys, args, a, b, rnd)
            bulk_insert(conn, StatusTransition.__table__, rows)  # type: ignore[arg-type]
            if back == 0:
                month_rows = len(rows)
        bulk_insert(conn, MaintenanceWindow.__table__, [  # type: ignore[arg-type]
            {"key": f"MW-{i}", "objects": [{"kind": "site", "key": f"FAP-{i * 97:05d}"}],
             "starts_at": start + dt.timedelta(days=i, hours=1),
             "ends_at": start + dt.timedelta(days=i, hours=5), "reason": "регламент"}
            for i in range(20)
        ])  # fmt: skip
        events = []
        for s in range(0, args.channels // 2, 7):
            at = start + dt.timedelta(seconds=rnd.randrange(int((end - start).total_seconds())))
            for v in range(args.vantages):
                for kind, when in (("on_backup", at), ("on_primary", at + dt.timedelta(hours=2))):
                    events.append({
                        "site_key": f"FAP-{s:05d}", "redundancy_group": f"FAP-{s:05d}-WAN",
                        "vantage": VANTAGES[v], "at": when + dt.timedelta(seconds=v),
                        "kind": kind, "active_channel": None, "detail": None,
                    })  # fmt: skip
        bulk_insert(conn, FailoverEvent.__table__, events)  # type: ignore[arg-type]
    # What autovacuum would have done to a ledger written over a month: statistics, visibility.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return start, end, month_rows


def _floor(engine: Engine, start: dt.datetime, end: dt.datetime) -> float:
    query = text(
        "SELECT object_key, vantage, count(*), min(at), max(at) FROM status_transition"
        " WHERE object_kind = 'channel' AND at >= :start AND at < :end"
        " GROUP BY object_key, vantage"
    )
    began = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(query, {"start": start, "end": end}).all()
    elapsed = time.perf_counter() - began
    assert rows
    return elapsed


def _maths(engine: Engine, start: dt.datetime, end: dt.datetime, channels: int) -> float:
    began = time.perf_counter()
    seconds = object_seconds(engine, "channel", start, end)
    elapsed = time.perf_counter() - began
    assert len(seconds) == channels, len(seconds)
    return elapsed


def _report(engine: Engine, start: dt.datetime, end: dt.datetime, channels: int) -> float:
    began = time.perf_counter()
    report = build_uptime_report(engine, start, end, zone=ZONE, kinds=("channel",))
    elapsed = time.perf_counter() - began
    assert len(report.objects) == channels, len(report.objects)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL URL")
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--transitions", type=int, default=50, help="per channel and month")
    parser.add_argument("--vantages", type=int, default=2, choices=range(1, len(VANTAGES) + 1))
    parser.add_argument("--history-months", type=int, default=0, help="earlier months of ledger")
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    schema = f"kontur_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.database_url else "?"
    engine = make_engine(f"{args.database_url}{sep}options={quote(f'-csearch_path={schema}')}")
    try:
        began = time.perf_counter()
        start, end, rows = _prepare(engine, args)
        print(
            f"prepared in {time.perf_counter() - began:.1f} s: {args.channels} channels, {rows}"
            f" transitions in {args.month} ({rows / args.channels:.1f} per channel,"
            f" {args.vantages} vantages), {args.history_months} earlier month(s) of history"
        )
        _report(engine, start, end, args.channels)  # warm-up: caches, tables
        floors, maths, reports = [], [], []
        for _ in range(args.repeat):
            floors.append(_floor(engine, start, end))
            maths.append(_maths(engine, start, end, args.channels))
            reports.append(_report(engine, start, end, args.channels))
        floor, math, report = min(floors), min(maths), min(reports)

        def runs(values: list[float]) -> str:
            return ", ".join(f"{x:.3f}" for x in values)

        print(f"backend={engine.dialect.name} repeat={args.repeat} (best of each)")
        print(f"floor_aggregate_scan_s={floor:.3f} (runs: {runs(floors)})")
        print(f"uptime_maths_s={math:.3f} (runs: {runs(maths)}): ledger query + exact seconds")
        print(f"uptime_report_s={report:.3f} (runs: {runs(reports)}): + CMDB, maintenance, "
              f"groups, failovers")  # fmt: skip
        print(f"report_ratio_vs_floor={report / floor:.2f}")
        print(f"ratio_vs_floor={math / floor:.2f}")
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
