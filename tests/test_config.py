from pathlib import Path

from pipelines.config import ROOT, load_settings


def test_defaults_live_under_data():
    s = load_settings({})
    assert s.db_path == ROOT / "data" / "warehouse.duckdb"
    assert s.snapshot_dir == ROOT / "data" / "snapshots"
    assert s.rules_path.name == "rules.toml" and s.rules_path.exists()


def test_environment_and_flag_override_the_warehouse(tmp_path):
    s = load_settings({"AWARENESS_DB": str(tmp_path / "x.duckdb")})
    assert s.db_path == tmp_path / "x.duckdb"
    assert s.with_db(tmp_path / "y.duckdb").db_path == tmp_path / "y.duckdb"
    assert s.with_db(None) is s


def test_data_dir_moves_everything(tmp_path):
    s = load_settings({"AWARENESS_DATA": str(tmp_path)})
    assert Path(s.db_path).parent == tmp_path
    assert s.secret_dir.parent == tmp_path and s.demo_dir.parent == tmp_path
