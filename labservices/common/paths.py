"""Where the lab keeps its state; light to import (the CLI and every notebook read it)."""
from __future__ import annotations

import os
from pathlib import Path


def lab_home() -> Path:
    """The lab's state folder (pids, logs, data): ``$LAB_HOME`` or ``~/.integration-lab``."""
    return Path(os.environ.get("LAB_HOME") or Path.home() / ".integration-lab")


def traces_file() -> Path:
    """The SQLite file every process of the lab writes its spans to (``LAB_TRACES_FILE`` overrides it)."""
    return Path(os.environ.get("LAB_TRACES_FILE") or lab_home() / "traces.sqlite3")
