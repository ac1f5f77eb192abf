"""Benchmark: the FAP card and the FAP search vs the same server's health endpoint, p99 latency.

A temporary SQLite CMDB gets the scale-1 demo region (``kontur demo run``: 31,695 AWPs, 701
FAP/FP) and a month of status ledger for every FAP/FP from two vantage points (a few outages of
the primary channel per FAP, some of them failovers to the backup, and the current states), a
helpdesk user and an API token. ``kontur serve`` runs it on a free loopback port in a subprocess.
Then, against that one server, with 20 connections each, in rounds:

* floor: ``GET /healthz`` (no authentication, ``SELECT 1``);
* card: ``GET /api/v1/helpdesk/sites/{code}`` over all FAP/FP codes in turn (bearer token);
* search: ``GET /api/v1/helpdesk/search?q=...`` over FAP codes, village names, districts, AWP
  hostnames and ViPNet IDs in turn.

Load comes from ``wrk`` (``apt-get install wrk``) when it is installed, else from a Python
asyncio/httpx2 client doing the same. Every response must be 2xx. The p99 of each phase is the
best of ``--rounds``; the last line is ``card_p99_ratio=X.XX search_p99_ratio=Y.YY`` (p99 of the
card and of the search over the health endpoint's p99; goal ≤ 3).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from cmdb.bulk import bulk_insert
from cmdb.db import make_engine
from cmdb.models import (
    Channel,
    District,
    FailoverEvent,
    ObjectState,
    Site,
    StatusTransition,
    VipnetNode,
    Workstation,
)
from cmdb.users import create_api_token, create_user

VANTAGES = ("dc-primary", "dc-reserve")
CONNECTIONS = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kontur() -> str:
    found = Path(sys.executable).with_name("kontur")
    return str(found) if found.exists() else "kontur"


def _ledger(engine: Engine, now: dt.datetime, rng: random.Random) -> tuple[int, int]:
    """A month of transitions for every FAP/FP site and its channels, two vantages."""
    with engine.connect() as conn:
        sites = conn.execute(
            select(Site.id, Site.code).where(Site.kind.in_(("fap", "fp")))
        ).all()  # fmt: skip
        channels = conn.execute(select(Channel.a_site_id, Channel.key, Channel.role)).all()
    by_site: dict[int, list[tuple[str, str]]] = {}
    for site_id, key, role in channels:
        by_site.setdefault(site_id, []).append((key, role))
    start = now - dt.timedelta(days=31)
    transitions: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    failovers: list[dict[str, Any]] = []

    def add(kind: str, key: str, vantage: str, at: dt.datetime, change: tuple[str, str]) -> None:
        state, prev = change
        transitions.append({
            "object_kind": kind, "object_key": key, "vantage": vantage, "at": at,
            "state": state, "previous": prev, "reason": "bench", "source": "bench",
        })  # fmt: skip

    for site_id, code in sites:
        members = by_site.get(site_id, [])
        primary = next((k for k, r in members if r == "primary"), None)
        backup = next((k for k, r in members if r == "backup"), None)
        objects = [("site", code)] + [("channel", k) for k, _ in members]
        now_state = {key: "up" for _, key in objects}
        for vantage in VANTAGES:
            for kind, key in objects:
                add(kind, key, vantage, start, ("up", "unknown"))
        for _ in range(rng.randint(1, 5)):  # outages of the primary channel in the month
            if primary is None:
                break
            begin = start + dt.timedelta(seconds=rng.randint(3600, 30 * 86400))
            length = dt.timedelta(seconds=rng.randint(60, 4 * 3600))
            site_state = "degraded" if backup else "down"
            for vantage in VANTAGES:
                skew = dt.timedelta(seconds=rng.randint(0, 30) if vantage != VANTAGES[0] else 0)
                add("channel", primary, vantage, begin + skew, ("down", "up"))
                add("channel", primary, vantage, begin + length + skew, ("up", "down"))
                add("site", code, vantage, begin + skew, (site_state, "up"))
                add("site", code, vantage, begin + length + skew, ("up", site_state))
                if backup:
                    failovers.append({
                        "site_key": code, "redundancy_group": f"{code}-WAN", "vantage": vantage,
                        "at": begin + skew, "kind": "on_backup", "active_channel": backup,
                        "detail": None,
                    })  # fmt: skip
                    failovers.append({
                        "site_key": code, "redundancy_group": f"{code}-WAN", "vantage": vantage,
                        "at": begin + length + skew, "kind": "on_primary",
                        "active_channel": primary, "detail": None,
                    })  # fmt: skip
        if primary is not None and backup is not None and rng.random() < 0.05:
            # on the backup channel right now
            begin = now - dt.timedelta(minutes=rng.randint(5, 120))
            now_state[primary], now_state[code] = "down", "degraded"
            for vantage in VANTAGES:
                add("channel", primary, vantage, begin, ("down", "up"))
                add("site", code, vantage, begin, ("degraded", "up"))
                failovers.append({
                    "site_key": code, "redundancy_group": f"{code}-WAN", "vantage": vantage,
                    "at": begin, "kind": "on_backup", "active_channel": backup, "detail": None,
                })  # fmt: skip
        for vantage in VANTAGES:
            for kind, key in objects:
                states.append({
                    "object_kind": kind, "object_key": key, "vantage": vantage,
                    "state": now_state[key], "since": start, "candidate": now_state[key],
                    "streak": 1, "streak_started_at": now, "last_seen_at": now, "detail": None,
                })  # fmt: skip
    # the unique (object, vantage, at) index: drop accidental duplicates
    unique = {(t["object_kind"], t["object_key"], t["vantage"], t["at"]): t for t in transitions}
    with engine.begin() as conn:
        bulk_insert(conn, StatusTransition.__table__, list(unique.values()))  # type: ignore[arg-type]
        bulk_insert(conn, ObjectState.__table__, states)  # type: ignore[arg-type]
        bulk_insert(conn, FailoverEvent.__table__, failovers)  # type: ignore[arg-type]
    return len(unique), len(failovers)


def _queries(engine: Engine, rng: random.Random) -> tuple[list[str], list[str]]:
    """FAP/FP codes for the card, and a mix of search queries of every identifier kind."""
    with engine.connect() as conn:
        codes = list(conn.scalars(select(Site.code).where(Site.kind.in_(("fap", "fp")))))
        names = list(conn.scalars(select(Site.name).where(Site.kind.in_(("fap", "fp")))))
        districts = list(conn.scalars(select(District.name)))
        hosts = list(conn.scalars(select(Workstation.hostname)))
        ids = list(conn.scalars(select(VipnetNode.vipnet_id)))
    queries = []
    for _ in range(400):
        pick = rng.randrange(5)
        if pick == 0:
            queries.append(rng.choice(codes).lower())
        elif pick == 1:  # a village, typed in capitals
            village = re.sub(r".*\((.*)\)", r"\1", rng.choice(names))
            queries.append(village.upper())
        elif pick == 2:
            queries.append(rng.choice(districts).split()[0][:8])
        elif pick == 3:
            queries.append(rng.choice(hosts))
        else:
            queries.append(rng.choice(ids).upper())
    return codes, queries


# --- load generation ----------------------------------------------------------------------------

LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def _lua_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in "/-_?=.&%" else f"\\{ord(c)}" for c in text) + '"'


def _wrk(base: str, paths: list[str], token: str | None, seconds: float, workdir: Path) -> float:
    script = workdir / "paths.lua"
    script.write_text(LUA % ", ".join(_lua_string(p) for p in paths))
    cmd = [
        "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "--timeout", "10s",
        "-s", str(script),
    ]  # fmt: skip
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*cmd, base], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw failed requests:\n{out}")
    found = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if found is None:
        raise SystemExit(f"no p99 in wrk's output:\n{out}")
    value, unit = float(found.group(1)), found.group(2)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


async def _httpx_load(base: str, paths: list[str], token: str | None, seconds: float) -> float:
    import httpx2 as httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    counter = 0
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:

        async def worker() -> None:
            nonlocal counter
            while time.monotonic() < deadline:
                counter += 1
                path = paths[counter % len(paths)]
                started = time.perf_counter()
                response = await client.get(path, timeout=10)
                latencies.append((time.perf_counter() - started) * 1000)
                if not response.is_success:
                    raise SystemExit(f"{path}: HTTP {response.status_code}")

        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    latencies.sort()
    return latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]


def _measure(
    base: str, paths: list[str], token: str | None, seconds: float, workdir: Path
) -> float:
    if shutil.which("wrk"):
        return _wrk(base, paths, token, seconds, workdir)
    return asyncio.run(_httpx_load(base, paths, token, seconds))


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import httpx2 as httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"kontur serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("kontur serve did not answer /healthz in 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kontur-bench-card-"))
    url = f"sqlite:///{workdir / 'kontur.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONTUR_")}
    env.update({"KONTUR_DATABASE_URL": url, "KONTUR_ACTOR": "bench"})
    proc: subprocess.Popen[bytes] | None = None
    try:
        t0 = time.perf_counter()
        subprocess.run(
            [_kontur(), "demo", "run", "--scale", str(args.scale)],
            env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        engine = make_engine(url)
        rng = random.Random(1988)
        now = dt.datetime.now(dt.UTC)
        rows, events = _ledger(engine, now, rng)
        create_user(engine, "bench-helpdesk", "helpdesk", password=None, actor="bench")
        token = create_api_token(engine, "bench-helpdesk", "bench", actor="bench")
        codes, queries = _queries(engine, rng)
        engine.dispose()
        print(
            f"demo scale {args.scale:g}: {len(codes)} FAP/FP, {rows} ledger transitions, "
            f"{events} failover events (prepared in {time.perf_counter() - t0:.0f} s)"
        )
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = workdir / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [_kontur(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_healthy(base, proc, log)
        card_paths = [f"/api/v1/helpdesk/sites/{c}" for c in codes]
        from urllib.parse import quote

        search_paths = [f"/api/v1/helpdesk/search?q={quote(q)}" for q in queries]
        # warm up (caches, connection pool, the first import of the check's modules)
        _measure(base, card_paths[:50], token, 1, workdir)
        _measure(base, search_paths[:50], token, 1, workdir)
        best: dict[str, float] = {}
        tool = "wrk" if shutil.which("wrk") else "httpx"
        for n in range(args.rounds):
            for name, paths, auth in (
                ("health", ["/healthz"], None),
                ("card", card_paths, token),
                ("search", search_paths, token),
            ):
                p99 = _measure(base, paths, auth, args.seconds, workdir)
                best[name] = min(best.get(name, p99), p99)
                print(f"round {n + 1} {name:6s} p99 {p99:8.2f} ms ({tool}, {CONNECTIONS} conn)")
        card_ratio = best["card"] / best["health"]
        search_ratio = best["search"] / best["health"]
        print(
            f"best p99: health {best['health']:.2f} ms, card {best['card']:.2f} ms, "
            f"search {best['search']:.2f} ms"
        )
        print(f"card_p99_ratio={card_ratio:.2f} search_p99_ratio={search_ratio:.2f}")
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
