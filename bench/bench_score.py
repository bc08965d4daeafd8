"""`make bench-score`: scoring 5M events against plain DuckDB on the same data, in one run.

Generates marketing, contact and learning exports for a 2,000-manager bank (5M events by
default, over `--weeks` ISO weeks of history: 26 by default; `make bench-score` runs 26 and 52),
then measures:
  raw      DuckDB `CREATE TABLE … AS SELECT * FROM read_csv(…)` of the same files
  groupby  one plain GROUP BY (manager, day) over each loaded feed table
  load     `pipelines load` of the files
  full     a full rescore: every grain, every metric, dimensions, index, team scores
  incr     an incremental rescore after 10k new contacts in the next ISO week
  award    XP, levels, every badge and the celebrations after the full rescore (no goal)
Goals (issue 4): full <= 10x groupby; load + full <= 3x (raw + groupby); incr <= 10% of full.
The history's length moves the first and the last in opposite directions: a longer one gives a
full rescore more periods to score, while an incremental one still redoes only the new week, its
month and its quarter.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent


def _copy(con: duckdb.DuckDBPyConnection, select: str, path: Path, params: list) -> None:
    con.execute(f"COPY ({select}) TO '{path}' (HEADER, DELIMITER ',')", params)


def generate(tmp: Path, events: int, managers: int, new: int,
             weeks: int = 26) -> dict[str, Path]:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    files = {"roster": tmp / "roster.csv", "marketing": tmp / "marketing.csv",
             "contacts": tmp / "contacts.csv", "learning": tmp / "learning.csv",
             "new_contacts": tmp / "new_contacts.csv"}
    _copy(con, """
        SELECT 'RM' || lpad(i::VARCHAR, 5, '0') AS manager_id, '經理' || i AS name,
               'T' || (i // 8) AS team_id, '團隊' || (i // 8) AS team_name,
               '分行' || (i // 80) AS branch,
               ['corporate', 'retail', 'sme'][1 + (i // 8) % 3] AS peer_group,
               '2020-01-01' AS hire_date
        FROM range(?) t(i)""", files["roster"], [managers])
    n_mkt, n_learn = events * 3 // 10, events // 10
    n_contact = events - n_mkt - n_learn
    # `weeks` whole ISO weeks up to Sunday 2026-11-01 23:59 (26: from Monday 2026-05-04 09:00),
    # as weekly exports would leave it
    first = date(2026, 11, 2) - timedelta(weeks=weeks)
    start = f"{first.isoformat()} 09:00"
    minutes = weeks * 7 * 24 * 60 - 9 * 60
    _copy(con, """
        SELECT 'MA' || i AS activity_id, 'RM' || lpad((i % ?)::VARCHAR, 5, '0') AS manager_id,
               strftime(CAST(? AS TIMESTAMP) + to_minutes((i * 37) % ?), '%Y-%m-%d %H:%M')
                   AS occurred_at,
               strftime(CAST(? AS TIMESTAMP) + to_minutes((i * 37) % ? + 120), '%Y-%m-%d %H:%M')
                   AS logged_at,
               ['visit', 'call', 'event', 'campaign', 'referral'][1 + i % 5] AS type,
               ['supply_chain', 'wholesale_market', 'industrial_park_gov', 'association',
                'intermediary', 'referral', 'walk_in', 'online'][1 + (hash(i) % 8)::BIGINT]
                   AS channel,
               CASE WHEN hash(i) % 3 = 0 THEN 'N' ELSE 'Y' END AS proactive,
               'P' || (hash(i) % 500000) AS prospect_id,
               ['建材', '物流', '農業', '食品', '電子'][1 + i % 5] AS industry,
               ['none', 'lead', 'application', 'approved', 'lost'][1 + (hash(i * 7) % 5)::BIGINT]
                   AS outcome,
               CASE WHEN hash(i * 7) % 5 = 3 THEN '1000000' ELSE '' END AS amount,
               CASE WHEN i % 9 = 0 THEN 'RM00001' ELSE '' END AS co_manager_ids
        FROM range(?) t(i)""", files["marketing"],
          [managers, start, minutes, start, minutes, n_mkt])
    contact_sql = """
        SELECT 'CC' || (i + ?) AS contact_id,
               'RM' || lpad((i % ?)::VARCHAR, 5, '0') AS manager_id,
               'C' || (hash(i) % 300000) AS client_id,
               strftime(CAST(? AS TIMESTAMP) + to_minutes((i * 13) % ?), '%Y-%m-%d %H:%M')
                   AS occurred_at,
               strftime(CAST(? AS TIMESTAMP) + to_minutes((i * 13) % ? + 90), '%Y-%m-%d %H:%M')
                   AS logged_at,
               ['visit', 'phone', 'wechat', 'email'][1 + i % 4] AS channel,
               ['service', 'follow_up', 'post_loan_inspection', 'renewal', 'collection',
                'risk_alert', 'complaint'][1 + (hash(i) % 7)::BIGINT] AS purpose,
               (1 + hash(i) % 5)::VARCHAR AS satisfaction,
               CASE WHEN hash(i) % 40 = 0 THEN '1' ELSE '0' END AS complaint,
               CASE WHEN i % 2 = 0 THEN strftime(CAST(? AS DATE)
                                                 + CAST(((i * 13) % ?) // 1440 + 7 AS INTEGER),
                                                 '%Y-%m-%d') ELSE '' END AS follow_up_due,
               CASE WHEN i % 4 = 0 THEN strftime(CAST(? AS DATE)
                                                 + CAST(((i * 13) % ?) // 1440 + 6 AS INTEGER),
                                                 '%Y-%m-%d 10:00') ELSE '' END
                   AS follow_up_done_at,
               CASE WHEN i % 10 = 0 THEN '0' ELSE '1' END AS checklist_complete,
               CASE WHEN i % 30 = 0 THEN '1' ELSE '0' END AS risk_flag,
               CASE WHEN i % 4 = 0 THEN '1' ELSE '' END AS location_verified
        FROM range(?) t(i)"""
    _copy(con, contact_sql, files["contacts"],
          [0, managers, start, minutes, start, minutes, start[:10], minutes, start[:10],
           minutes, n_contact])
    # the next week's export arriving after the load (ISO week 45, Monday to Sunday): the
    # incremental case
    week = "2026-11-02 00:00"
    _copy(con, contact_sql, files["new_contacts"],
          [n_contact, managers, week, 7 * 24 * 60, week, 7 * 24 * 60, week[:10], 7 * 24 * 60,
           week[:10], 7 * 24 * 60, new])
    _copy(con, """
        SELECT 'LE' || i AS event_id, 'RM' || lpad((i % ?)::VARCHAR, 5, '0') AS manager_id,
               strftime(CAST(? AS TIMESTAMP) + to_minutes((i * 53) % ?), '%Y-%m-%d %H:%M')
                   AS occurred_at,
               ['credit', 'risk', 'compliance', 'law', 'finance', 'ethics'][1 + i % 6]
                   AS category,
               ['completed', 'passed', 'failed'][1 + (hash(i) % 3)::BIGINT] AS verb,
               (15 + i % 75)::VARCHAR AS duration_min
        FROM range(?) t(i)""", files["learning"],
          [managers, f"{first.isoformat()} 19:00", minutes - 10 * 60, n_learn])
    con.close()
    return files


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(events: int, managers: int, new: int, weeks: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["AWARENESS_DATA"] = str(tmp / "data")
        from pipelines import badges, db, load, score
        from pipelines.config import load_settings
        from pipelines.rules import load_rules

        print(f"generating {events:,} events for {managers:,} managers over {weeks} weeks …",
              flush=True)
        files = generate(tmp, events, managers, new, weeks)
        feeds = [files[k] for k in ("marketing", "contacts", "learning")]

        raw_con = duckdb.connect(str(tmp / "raw.duckdb"))
        raw_con.execute("SET enable_progress_bar = false")
        raw_s = 0.0
        for i, f in enumerate(feeds):
            s, _ = timed(lambda f=f, i=i: raw_con.execute(
                f"CREATE TABLE t{i} AS SELECT * FROM read_csv(?)", [str(f)]))
            raw_s += s
        raw_con.close()

        settings = load_settings()
        load.load_paths(settings, [files["roster"]])
        load_s, results = timed(lambda: load.load_paths(settings, feeds))
        assert all(r.error is None and r.balanced for r in results), results

        with db.warehouse(settings.db_path) as con:
            groupby_s = 0.0
            for table in ("marketing_activity", "client_contact", "learning_event"):
                s, _ = timed(lambda t=table: con.execute(
                    f"SELECT manager_id, CAST(occurred_at AS DATE), count(*) FROM {t} "
                    "GROUP BY ALL").fetchall())
                groupby_s += s
            rules = load_rules(settings.rules_path)
            full_s, full = timed(lambda: score.score(con, rules, force=True))
            award_s, awarded = timed(lambda: badges.award(con, rules))
        load.load_paths(settings, [files["new_contacts"]])
        with db.warehouse(settings.db_path) as con:
            incr_s, incr = timed(lambda: score.score(con, rules))
        assert not incr.full, "the rescore after new data should have been incremental"

        print(f"{'step':<34}{'seconds':>9}")
        for label, s in (("raw read_csv (3 files)", raw_s),
                         ("plain group-by (3 tables)", groupby_s),
                         ("pipelines load (3 files)", load_s), ("full rescore", full_s),
                         (f"incremental after {new:,} new (from {incr.since})", incr_s),
                         (f"award ({awarded.active:,} badges held)", award_s)):
            print(f"{label:<34}{s:>9.2f}")
        print(f"\nfull rescore / group-by          {full_s / groupby_s:6.1f}x   (goal <= 10x)")
        print(f"(load + full) / (raw + group-by)  {(load_s + full_s) / (raw_s + groupby_s):6.2f}x"
              "   (goal <= 3x)")
        print(f"incremental / full                {100 * incr_s / full_s:6.1f}%   (goal <= 10%)")
        print(f"({full.metric_rows:,} metric rows over {full.periods} periods; incremental "
              f"redid {incr.periods} periods)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--managers", type=int, default=2_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=26,
                        help="ISO weeks of history before the new week (26: May to October)")
    args = parser.parse_args()
    run(args.events, args.managers, args.new, args.weeks)


if __name__ == "__main__":
    main()
