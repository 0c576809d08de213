"""What the benchmark scripts share: finding the tools of the environment they run in."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def installed(name: str) -> str | None:
    """A tool of this interpreter's environment first (the venv need not be activated), then of PATH."""
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
