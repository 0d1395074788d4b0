"""Configuration from the environment (see the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from domain.eligibility import DEFAULT_REFUND_WINDOW_DAYS


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    data_dir: Path
    admin_token: str | None
    gateway_delay_scale: float
    refund_window_days: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(os.environ.get("REFUNDS_DATA_DIR", "./.refunds")),
            admin_token=os.environ.get("REFUNDS_ADMIN_TOKEN") or None,
            gateway_delay_scale=float(os.environ.get("REFUNDS_GATEWAY_DELAY_SCALE", "1")),
            refund_window_days=int(
                os.environ.get("REFUNDS_REFUND_WINDOW_DAYS", str(DEFAULT_REFUND_WINDOW_DAYS))
            ),
        )
