"""Close a finished quarter ("season"): freeze its standings for good, read and export them."""
from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from pipelines import db

LABEL_RE = re.compile(r"^(\d{4})Q([1-4])$")

INDIVIDUAL_COLUMNS = ("rank_overall", "rank_peer", "manager_id", "name", "team_id", "team_name",
                      "branch", "peer_group", "score", "status", "eligible", "gate_reason",
                      "badges", "xp_total", "level_no")
TEAM_COLUMNS = ("rank", "team_id", "team_name", "branch", "score", "members_scored",
                "members_total", "badges")

# Spreadsheet apps run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_COLUMN_WIDTH = 50


class SeasonError(Exception):
    """A season cannot be closed, read or exported as asked; the message says what to do."""


def quarter_bounds(season: str) -> tuple[date, date]:
    """First and last day of a season label such as 2026Q3 (or 2026q3)."""
    match = LABEL_RE.match(_label(season))
    if not match:
        raise SeasonError(f"Season label {season!r} is not valid: write the year and the quarter "
                          "as YYYYQn, e.g. 2026Q3 (quarters 1 to 4).")
    year, quarter = int(match[1]), int(match[2])
    first = date(year, 3 * quarter - 2, 1)
    next_first = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, next_first - timedelta(days=1)


def _label(season: str) -> str:
    # a label typed in lower case or with stray spaces still means the same quarter
    return season.strip().upper()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> tuple:
    return con.cursor().execute(sql, params).fetchall()[0]


def _closed_seasons(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.cursor().execute("SELECT season FROM season ORDER BY season DESC").fetchall()
    return [s for (s,) in rows]


def _utc_naive(now: datetime | None) -> datetime:
    # the warehouse keeps every pipeline timestamp as naive UTC (see badge_award.awarded_at)
    now = now or datetime.now(UTC)
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    return now


def close(con: duckdb.DuckDBPyConnection, season: str, rules_version: str,
          now: datetime | None = None) -> dict:
    """Freeze the final standings of a finished quarter in one transaction.

    Rescoring and award runs never write the season tables, so what is frozen here stays."""
    season = _label(season)
    first, last = quarter_bounds(season)
    closed = con.cursor().execute("SELECT closed_at FROM season WHERE season = ?",
                                  [season]).fetchall()
    if closed:
        raise SeasonError(f"Season {season} was already closed on "
                          f"{closed[0][0]:%Y-%m-%d %H:%M} UTC, and closed seasons never change. "
                          f"Export it with `python -m pipelines season export {season}`.")
    data_end = db.data_end(con)
    if data_end is None:
        raise SeasonError(f"Season {season} cannot be closed: no activity data has been loaded "
                          f"yet. Load the feeds up to {last} and run `python -m pipelines score` "
                          "first.")
    if data_end < last:
        raise SeasonError(f"Season {season} is not over in the data: the last day with data is "
                          f"{data_end} and the quarter ends on {last}. It can be closed once data "
                          f"up to {last} has been loaded and scored.")
    scored, versions = _one(con, """
        SELECT count(*), string_agg(DISTINCT a.rules_version, ', ')
        FROM awareness_index a JOIN roster r USING (manager_id)
        WHERE a.grain = 'quarter' AND a.period = ?""", [season])
    if not scored:
        data_start = db.data_start(con)
        if data_start is not None and data_start > last:
            raise SeasonError(f"Season {season} has no data to close: the first day with data is "
                              f"{data_start}, after the quarter ended on {last}.")
        raise SeasonError(f"Season {season} has no quarter scores for anyone on the roster: run "
                          f"`python -m pipelines score`, then close {season} again.")
    # freezing scores from older rules would lock in standings nobody can reproduce
    if versions != rules_version:
        raise SeasonError(f"Season {season} was scored with rules {versions}, but the current "
                          f"rules are {rules_version}: run `python -m pipelines score`, then close "
                          f"{season} again.")
    closed_at = _utc_naive(now)
    con.begin()
    try:
        con.execute("INSERT INTO season (season, closed_at, data_end, rules_version) "
                    "VALUES (?, ?, ?, ?)", [season, closed_at, data_end, rules_version])
        con.execute("""
            INSERT INTO season_standing (season, rank_overall, rank_peer, manager_id, name,
                team_id, team_name, branch, peer_group, score, status, eligible, gate_reason,
                badges, xp_total, level_no)
            WITH badges AS (
                SELECT subject_id AS manager_id, count(*) AS badges FROM badge_award
                WHERE scope = 'individual' AND revoked_at IS NULL
                  AND earned_on BETWEEN ? AND ?
                GROUP BY ALL
            ), xp AS (
                SELECT manager_id, sum(xp) AS xp_total FROM xp_day WHERE day <= ? GROUP BY ALL
            )
            SELECT ?, a.rank_overall, a.rank_peer, r.manager_id, r.name, r.team_id,
                   r.team_name, r.branch, r.peer_group, a.score, a.status, a.eligible,
                   a.gate_reason, coalesce(b.badges, 0), coalesce(x.xp_total, 0),
                   coalesce((SELECT max(l.level_no) FROM level_def l
                             WHERE l.min_xp <= coalesce(x.xp_total, 0)), 1)
            FROM awareness_index a
            JOIN roster r USING (manager_id)
            LEFT JOIN badges b USING (manager_id)
            LEFT JOIN xp x USING (manager_id)
            WHERE a.grain = 'quarter' AND a.period = ?""",
                    [first, last, last, season, season])
        # a team whose members all left the roster keeps its standing, under its id
        con.execute("""
            INSERT INTO season_team_standing (season, rank, team_id, team_name, branch, score,
                members_scored, members_total, badges)
            WITH teams AS (
                SELECT team_id, min(team_name) AS team_name,
                       string_agg(DISTINCT branch, ', ' ORDER BY branch) AS branch
                FROM roster GROUP BY ALL
            ), badges AS (
                SELECT subject_id AS team_id, count(*) AS badges FROM badge_award
                WHERE scope = 'team' AND revoked_at IS NULL AND earned_on BETWEEN ? AND ?
                GROUP BY ALL
            )
            SELECT ?, CASE WHEN s.score IS NOT NULL THEN rank() OVER (
                       PARTITION BY s.score IS NOT NULL ORDER BY round(s.score, 9) DESC) END,
                   s.team_id, coalesce(t.team_name, s.team_id), coalesce(t.branch, ''),
                   s.score, s.members_scored, s.members_total, coalesce(b.badges, 0)
            FROM team_score s
            LEFT JOIN teams t USING (team_id)
            LEFT JOIN badges b USING (team_id)
            WHERE s.grain = 'quarter' AND s.dimension = 'index' AND s.period = ?""",
                    [first, last, season, season])
        # on `con` itself: a cursor is a separate connection that cannot see this transaction
        managers, teams = con.execute("""
            SELECT (SELECT count(*) FROM season_standing WHERE season = ?),
                   (SELECT count(*) FROM season_team_standing WHERE season = ?)""",
                                      [season, season]).fetchall()[0]
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return {"season": season, "managers": managers, "teams": teams, "closed_at": closed_at,
            "data_end": data_end}


def standings(con: duckdb.DuckDBPyConnection, season: str) -> tuple[list[dict], list[dict]]:
    """The frozen individual and team standings of a closed season, best first, unranked last."""
    season = _label(season)
    quarter_bounds(season)
    if not con.cursor().execute("SELECT 1 FROM season WHERE season = ?", [season]).fetchall():
        closed = _closed_seasons(con)
        listed = (f"Closed seasons: {', '.join(closed)}." if closed
                  else "No season has been closed yet.")
        raise SeasonError(f"Season {season} has not been closed, so it has no frozen standings. "
                          f"{listed} Close it with `python -m pipelines season close {season}` "
                          "once the quarter is over.")
    people = _dicts(con, f"""
        SELECT {', '.join(INDIVIDUAL_COLUMNS)} FROM season_standing WHERE season = ?
        ORDER BY rank_overall NULLS LAST, score DESC NULLS LAST, manager_id""", [season])
    teams = _dicts(con, f"""
        SELECT {', '.join(TEAM_COLUMNS)} FROM season_team_standing WHERE season = ?
        ORDER BY rank NULLS LAST, score DESC NULLS LAST, team_id""", [season])
    return people, teams


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cur = con.cursor()
    cur.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as typed, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def export(con: duckdb.DuckDBPyConnection, season: str, out_dir: Path) -> list[Path]:
    """Write a closed season's standings as season_<label>.xlsx and two CSV files."""
    season = _label(season)
    people, teams = standings(con, season)
    out_dir.mkdir(parents=True, exist_ok=True)
    sheets = (("individuals", INDIVIDUAL_COLUMNS, people), ("teams", TEAM_COLUMNS, teams))
    xlsx = out_dir / f"season_{season}.xlsx"
    _write_xlsx(xlsx, sheets)
    paths = [xlsx]
    for name, columns, rows in sheets:
        path = out_dir / f"season_{season}_{name}.csv"
        _write_csv(path, columns, rows)
        paths.append(path)
    return paths


def _replace(path: Path, write) -> None:
    # a failed export must not leave a half-written file where the last good one was
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _csv_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # what Excel itself writes, and reads back as a bool
    if isinstance(value, float):
        return round(value, 2)   # a score to two decimals, not its last binary digits
    return safe_text(value) if isinstance(value, str) else value


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([_csv_cell(row[c]) for c in columns] for row in rows)
    # the BOM is what makes Excel read the file as UTF-8 rather than the local code page
    _replace(path, lambda tmp: tmp.write_bytes(buf.getvalue().encode("utf-8-sig")))


def _display_width(value) -> int:
    # CJK characters take two columns in Excel's default fonts
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _write_xlsx(path: Path, sheets) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for title, columns, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for row in rows:
            ws.append([_xlsx_value(row[c]) for c in columns])
        for row_cells in ws.iter_rows(min_row=2):
            for cell in row_cells:
                if isinstance(cell.value, str):
                    # openpyxl stores any text starting with '=' as a formula; the prefix
                    # already prevents that, and this pins every text cell as a string anyway
                    cell.data_type = "s"
        for i, name in enumerate(columns, start=1):
            width = max([_display_width(name)] + [_display_width(r[name]) for r in rows])
            ws.column_dimensions[get_column_letter(i)].width = min(width + 2, MAX_COLUMN_WIDTH)
        if "score" in columns:
            idx = columns.index("score") + 1
            for (cell,) in ws.iter_rows(min_row=2, min_col=idx, max_col=idx):
                cell.number_format = "0.0"
    _replace(path, wb.save)


def _xlsx_value(value):
    if isinstance(value, str):
        # control characters are not allowed in the file format: openpyxl refuses the value
        return safe_text(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value
