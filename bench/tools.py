"""What the benchmark scripts share: finding the tools of the environment they run in."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def installed(name: str) -> str | None:
    """A tool of this interpreter's environment first (the venv need not be activated), then of PATH."""
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def bytecode_cached_environment(cache: Path) -> dict[str, str]:
    """This environment, with bytecode written once to ``cache`` and read by every later start (never into the
    work tree)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**environment, "PYTHONPYCACHEPREFIX": str(cache)}
