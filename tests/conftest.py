"""Shared fixtures: isolated settings per test, and one demo warehouse built per session."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pytest

from pipelines import badges, db, demo, load, publish, score, season
from pipelines.config import ENV_DATA, load_settings
from pipelines.rules import load_rules


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings whose data folder (warehouse, snapshots, secrets) is this test's tmp dir."""
    for var in ("AWARENESS_DB", "AWARENESS_SNAPSHOTS", "AWARENESS_RULES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(ENV_DATA, str(tmp_path / "data"))
    return load_settings()


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory):
    """The demo organisation generated, loaded, scored and published once for the session."""
    data_dir = tmp_path_factory.mktemp("demo_data")
    settings = load_settings({ENV_DATA: str(data_dir)})
    manifest = demo.generate(settings.demo_dir)
    results = load.load_paths(settings, demo.demo_files(settings.demo_dir))
    rules = load_rules(settings.rules_path)
    with db.warehouse(settings.db_path) as con:
        score.score(con, rules)
        badges.award(con, rules)
        season.close(con, "2026Q3", rules.version)
    snapshot = publish.publish(settings)
    return {"settings": settings, "manifest": manifest, "results": results,
            "snapshot": snapshot}


@pytest.fixture
def demo_env(demo_build, monkeypatch):
    """Point the dashboard (same process) at the session's demo snapshot."""
    monkeypatch.setenv(ENV_DATA, str(demo_build["settings"].data_dir))
    return demo_build


def query(settings, sql: str, params=()) -> list[tuple]:
    """Rows from the settings' warehouse, through a short read-only connection."""
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter,
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


ROSTER = [
    {"manager_id": "A1", "name": "王大明", "team_id": "T1", "team_name": "甲組", "branch": "台北",
     "peer_group": "corporate", "hire_date": "2020-01-01", "lms_account": "lms-a1",
     "email": "a1@bank.tw"},
    {"manager_id": "A2", "name": "李小華", "team_id": "T1", "team_name": "甲組", "branch": "台北",
     "peer_group": "corporate", "hire_date": "2020-01-01", "lms_account": "lms-a2",
     "email": "a2@bank.tw"},
    {"manager_id": "B1", "name": "陳美玲", "team_id": "T2", "team_name": "乙組", "branch": "台中",
     "peer_group": "retail", "hire_date": "2021-06-01", "lms_account": "lms-b1",
     "email": "b1@bank.tw"},
]


@pytest.fixture
def roster_loaded(settings, tmp_path):
    """A warehouse holding the three-person roster above."""
    path = write_csv(tmp_path / "roster.csv", ROSTER)
    load.load_paths(settings, [path])
    return settings
