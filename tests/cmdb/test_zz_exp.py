import datetime as dt, time
from zoneinfo import ZoneInfo
from cmdb import demo, planning


def test_load(engine):
    t = time.time()
    r1 = demo.load(
        engine,
        scale=0.05,
        actor="tester",
        zone=ZoneInfo("Europe/Moscow"),
        today=dt.date(2026, 11, 23),
    )
    print("load1", time.time() - t)
    t = time.time()
    r2 = demo.load(
        engine,
        scale=0.05,
        actor="tester",
        zone=ZoneInfo("Europe/Moscow"),
        today=dt.date(2026, 11, 23),
    )
    print("load2", time.time() - t)
    for r in r2:
        print(r)
    for i in planning.indicators(engine, 2024):
        print(i, i.met)
