"""Fixtures for the container apps: importable like inside their image (PostgreSQL: tests/support/postgres.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.postgres import Postgres

__all__ = ["WEB_APP_ROOT", "Postgres"]

ROOT = Path(__file__).resolve().parents[3]
WEB_APP_ROOT = ROOT / "web" / "container"
if str(WEB_APP_ROOT) not in sys.path:
    sys.path.insert(0, str(WEB_APP_ROOT))
