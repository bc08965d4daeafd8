"""Settings (paths and environment overrides) as one frozen dataclass."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent

# Environment variables a deployment may set; the CLI's --db wins over AWARENESS_DB.
ENV_DB = "AWARENESS_DB"
ENV_SNAPSHOTS = "AWARENESS_SNAPSHOTS"
ENV_DATA = "AWARENESS_DATA"
ENV_RULES = "AWARENESS_RULES"
ENV_COACHING = "AWARENESS_COACHING"
ENV_MEMORY = "AWARENESS_MEMORY_LIMIT"
ENV_SCORE_MEMORY = "AWARENESS_SCORE_MEMORY_LIMIT"
ENV_LOCK_WAIT = "AWARENESS_LOCK_WAIT"
ENV_INBOX = "AWARENESS_INBOX"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_path: Path
    snapshot_dir: Path
    demo_dir: Path
    secret_dir: Path
    cache_dir: Path
    rules_path: Path
    profiles_dir: Path
    coaching_path: Path = PACKAGE_DIR / "coaching.toml"
    keep_snapshots: int = 3
    memory_limit: str = "1GB"     # DuckDB's cap for pipeline work; beyond it, it spills to disk
    # scoring's window functions over managers x periods x metrics cannot spill: more room
    score_memory_limit: str = "4GB"
    # how long a pipeline command waits for another holding the warehouse (seconds)
    lock_wait: float = 600.0
    inbox_dir: Path | None = None   # watched by `pipelines watch`: data/inbox by default

    def with_db(self, db: str | Path | None) -> Settings:
        return self if db is None else replace(self, db_path=Path(db))


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment; every path defaults to a place under data/."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get(ENV_DATA, ROOT / "data"))
    return Settings(
        data_dir=data_dir,
        db_path=Path(env.get(ENV_DB, data_dir / "warehouse.duckdb")),
        snapshot_dir=Path(env.get(ENV_SNAPSHOTS, data_dir / "snapshots")),
        demo_dir=data_dir / "demo",
        secret_dir=data_dir / ".secret",
        cache_dir=data_dir / ".cache",
        rules_path=Path(env.get(ENV_RULES, PACKAGE_DIR / "rules.toml")),
        profiles_dir=PACKAGE_DIR / "profiles",
        coaching_path=Path(env.get(ENV_COACHING, PACKAGE_DIR / "coaching.toml")),
        memory_limit=env.get(ENV_MEMORY, "1GB"),
        score_memory_limit=env.get(ENV_SCORE_MEMORY, "4GB"),
        lock_wait=float(env.get(ENV_LOCK_WAIT, 600)),
        inbox_dir=Path(env.get(ENV_INBOX, data_dir / "inbox")),
    )
