"""Settings, declared once with name, default and help; read from the environment.

Each setting is `VITALFILE_<NAME>` in the environment. Nothing is read at import time:
`Settings.from_env()` is called by the caller that needs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from vitalfile.errors import ConfigError

__all__ = ["API_SETTINGS_HELP", "SETTINGS_HELP", "ApiSettings", "Settings"]

SETTINGS_HELP = {
    "db": "database: a DuckDB file path, ':memory:', or a postgresql:// URL",
    "key_path": "the file keeper's Ed25519 private key (PEM); its .pub beside it",
    "commit_size": "events per commit in bulk loads",
    "memory_limit": "DuckDB's memory limit (default 3GB); past it, work spills to disk",
    "linker": "how reports are linked: splink (the trained model) or rule (exact SSN, birth "
    "date and last name); the holds that protect living people apply to both",
    "engine": "where the model runs: duckdb (embedded) or spark (VITALFILE_SPARK_*)",
    "request_max_per_reference": "requests for personal data: people one case reference may "
    "cover, counted from the ledger across submissions and doors (default 1)",
    "request_max_per_period": "requests for personal data: people one agency may be given "
    "(or have awaiting approval) per period, counted from the ledger (default 50)",
    "request_period_days": "requests for personal data: the period of the agency limit, in "
    "days (default 30)",
    "test_clock": "TESTS AND THE DEMO ONLY: an ISO date the due-process clock reads instead of "
    "today; refused on a production database",
}


@dataclass(frozen=True)
class Settings:
    db: str = "vitalfile.duckdb"
    key_path: Path = Path("keys/keeper.pem")
    commit_size: int = 1_000_000
    memory_limit: str = "3GB"
    linker: str = "splink"
    engine: str = "duckdb"
    request_max_per_reference: int = 1
    request_max_per_period: int = 50
    request_period_days: int = 30
    test_clock: str = ""

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
        for f in fields(cls):
            if f.type in ("int", int) and f.name in values:
                try:
                    number = int(str(values[f.name]))
                except ValueError as exc:
                    raise ConfigError(
                        "not a whole number", field=f"VITALFILE_{f.name.upper()}"
                    ) from exc
                if number < (0 if f.name.startswith("request_max") else 1):
                    raise ConfigError("out of range", field=f"VITALFILE_{f.name.upper()}")
                values[f.name] = number
        return cls(**values)  # type: ignore[arg-type]


# ── the service (`vitalfile serve`) ──────────────────────────────────────────────────────
API_SETTINGS_HELP = {
    "db": "database: a DuckDB file path or a postgresql:// URL",
    "key_path": "the keeper's Ed25519 key (PEM): files and feeds sent carry a signed checkpoint",
    "work_dir": "where delivered files and batch-match results are kept",
    "max_upload_bytes": "the largest request body accepted (bytes); larger is refused (413)",
    "session_secret": "secret signing console session cookies (same for every worker)",
    "pool_size": "database connections per worker process (PostgreSQL; DuckDB uses one)",
    "session_hours": "how long a console sign-in lasts",
    "checkpoint_dir": "where published checkpoints are kept (default: work_dir/checkpoints); "
    "/metrics reports the newest one's age",
}

_DEFAULT_SECRETS = {"", "changethis", "secret"}


@dataclass(frozen=True)
class ApiSettings:
    db: str = "vitalfile.duckdb"
    key_path: Path = Path("keys/keeper.pem")
    work_dir: Path = Path("vitalfile-work")
    max_upload_bytes: int = 50 * 1024 * 1024
    session_secret: str = ""
    pool_size: int = 4
    session_hours: int = 8
    checkpoint_dir: Path | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> ApiSettings:
        values: dict[str, object] = {}
        for f in fields(cls):
            env = os.environ.get(f"VITALFILE_{f.name.upper()}")
            if env is not None:
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("key_path", "work_dir", "checkpoint_dir"):
            if name in values:
                values[name] = Path(str(values[name]))
        for name in ("max_upload_bytes", "pool_size", "session_hours"):
            if name in values:
                try:
                    values[name] = int(str(values[name]))
                except ValueError as exc:
                    raise ConfigError("not a whole number", field=name) from exc
        return cls(**values)  # type: ignore[arg-type]

    def checkpoints_folder(self) -> Path:
        return self.checkpoint_dir or self.work_dir / "checkpoints"

    def checked_secret(self) -> str:
        """The session secret, refusing a default one (empty means: make one per process)."""
        if self.session_secret and self.session_secret.lower() in _DEFAULT_SECRETS:
            raise ConfigError("the session secret is a default value", field="session_secret")
        if self.session_secret and len(self.session_secret) < 16:
            raise ConfigError("the session secret is too short (16+)", field="session_secret")
        return self.session_secret
