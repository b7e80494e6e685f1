"""Where the project keeps local state: `STATE_DIR`, default `<project>/.state`.

The one place its default is computed; the spools, the MLflow SQLite store and the demo data
root all live under it unless their own settings say otherwise. Read when called, so a test or
a deployment can change it without reloading modules.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def state_dir() -> Path:
    return Path(os.environ.get("STATE_DIR", PROJECT_ROOT / ".state"))
