"""`python -m pipelines simulate --rate R`: new activity dripped into the inbox, for a demo.

Each file is a small client-contact export as the demo's CRM writes it: a handful of visits and
calls by a few managers on the last day the data covers (so the running week and month move on
the wall), written as `NAME.part` and renamed when complete, as the watcher expects. The people
come from the published snapshot (read-only: the watcher holds the warehouse)."""
from __future__ import annotations

import csv
import io
import os
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.config import Settings
from pipelines.publish import current_snapshot

COLUMNS = ["contact_id", "manager_id", "client_id", "client_tier", "occurred_at", "logged_at",
           "channel", "purpose", "duration_min", "satisfaction", "complaint", "resolved_at",
           "follow_up_due", "follow_up_done_at", "checklist_complete", "risk_flag",
           "location_verified", "notes"]
CHANNELS = ["visit", "phone", "wechat", "email", "video", "branch"]
PURPOSES = ["service", "follow_up", "post_loan_inspection", "renewal", "risk_alert"]


class SimulateError(RuntimeError):
    pass


def people(settings: Settings) -> tuple[list[str], date]:
    """The active managers of the published snapshot, and the last day its data covers."""
    snap = current_snapshot(settings.snapshot_dir)
    if snap is None:
        raise SimulateError("nothing is published yet: run `make build` (or python -m pipelines "
                            "build) first, so the simulator knows the people")
    con = duckdb.connect(str(snap), read_only=True)
    try:
        ids = [m for (m,) in con.execute("SELECT manager_id FROM roster WHERE active "
                                         "ORDER BY manager_id").fetchall()]
        (day,) = con.execute("SELECT data_end FROM snapshot_info").fetchall()[0]
    finally:
        con.close()
    return ids, day or date.today()


def contact_file(rng: random.Random, managers: list[str], day: date, seq: int) -> str:
    """A small export: a few contacts by two to four managers (some busier than others)."""
    hot = rng.sample(managers, k=min(len(managers), rng.randint(2, 4)))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    for i in range(rng.randint(4, 12)):
        when = datetime.combine(day, datetime.min.time()) + timedelta(
            hours=rng.randint(9, 17), minutes=rng.randint(0, 59))
        purpose = rng.choice(PURPOSES)
        due = day + timedelta(days=rng.randint(3, 10))
        writer.writerow({
            "contact_id": f"SIM{seq:05d}{stamp}{i:02d}", "manager_id": rng.choice(hot),
            "client_id": f"C{rng.randint(1, 4000):05d}", "client_tier": rng.choice("ABC"),
            "occurred_at": when.strftime("%Y/%m/%d %H:%M"),
            "logged_at": (when + timedelta(minutes=rng.randint(5, 90))).strftime(
                "%Y/%m/%d %H:%M"),
            "channel": "visit" if purpose == "post_loan_inspection" else rng.choice(CHANNELS),
            "purpose": purpose, "duration_min": str(rng.randint(10, 80)),
            "satisfaction": str(rng.randint(3, 5)), "complaint": "0", "resolved_at": "",
            "follow_up_due": f"{due.year}/{due.month}/{due.day}", "follow_up_done_at": "",
            "checklist_complete": "1", "risk_flag": "0",
            "location_verified": "1" if rng.random() < 0.5 else "", "notes": "例行關懷"})
    return buf.getvalue()


def drop(inbox: Path, name: str, text: str) -> Path:
    """Write a file into the inbox the way the watcher wants it: whole, then renamed."""
    inbox.mkdir(parents=True, exist_ok=True)
    final = inbox / name
    part = final.with_name(name + ".part")
    with part.open("w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, final)
    return final


def run(settings: Settings, rate: float, inbox: Path | None = None, count: int | None = None,
        seed: int | None = None, say: Callable[[str], None] = print,
        stop: Callable[[], bool] = lambda: False) -> int:
    """Drop `rate` files a minute until stopped (or `count` files). Returns how many."""
    managers, day = people(settings)
    inbox = inbox or settings.inbox_dir
    rng = random.Random(seed)
    every = 60.0 / rate
    n = 0
    while not stop() and (count is None or n < count):
        n += 1
        name = f"sim-contacts-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}.csv"
        path = drop(inbox, name, contact_file(rng, managers, day, n))
        say(f"dropped {path.name}")
        if count is None or n < count:
            time.sleep(every)
    return n
