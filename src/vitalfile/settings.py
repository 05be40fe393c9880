"""Settings, declared once with name, default and help; read from the environment.

Each setting is `VITALFILE_<NAME>` in the environment. Nothing is read at import time:
`Settings.from_env()` is called by the caller that needs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["SETTINGS_HELP", "Settings"]

SETTINGS_HELP = {
    "db": "database: a DuckDB file path, ':memory:', or a postgresql:// URL",
    "key_path": "the file keeper's Ed25519 private key (PEM); its .pub beside it",
    "commit_size": "events per commit in bulk loads",
    "memory_limit": "DuckDB's memory limit (default 3GB); past it, work spills to disk",
    "linker": "how reports are linked: splink (the trained model) or rule (exact SSN, birth "
    "date and last name); the holds that protect living people apply to both",
    "engine": "where the model runs: duckdb (embedded) or spark (VITALFILE_SPARK_*)",
}


@dataclass(frozen=True)
class Settings:
    db: str = "vitalfile.duckdb"
    key_path: Path = Path("keys/keeper.pem")
    commit_size: int = 1_000_000
    memory_limit: str = "3GB"
    linker: str = "splink"
    engine: str = "duckdb"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            env = os.environ.get(f"VITALFILE_{f.name.upper()}")
            if env is not None:
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "key_path" in values:
            values["key_path"] = Path(str(values["key_path"]))
        if "commit_size" in values:
            values["commit_size"] = int(str(values["commit_size"]))
        return cls(**values)  # type: ignore[arg-type]
