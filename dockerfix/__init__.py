"""dockerfix: rewrites Dockerfiles into smaller, more cache-friendly ones, safely."""

import sys

try:
    from ._version import (
        __version__,
    )  # written from the git tag when the package is built or installed (setuptools-scm)
except ImportError:  # a source tree that was never installed
    __version__ = "0+unknown"

# msgspec (the records) reads type hints with typing_extensions whenever that library is installed, and
# typing_extensions imports inspect, ast, dis and tokenize: ~7 ms of every start (bench/startup.py). From Python 3.11
# it answers as typing does for every hint msgspec asks about (it re-exports typing's Required and NotRequired; its
# get_type_hints differs only for its own ReadOnly), so msgspec is imported as where typing_extensions is not
# installed. A None in sys.modules makes that one import fail; the library stays importable for everything else.
if sys.version_info >= (3, 11) and "msgspec" not in sys.modules and "typing_extensions" not in sys.modules:
    sys.modules["typing_extensions"] = None  # type: ignore[assignment]
    try:
        import msgspec  # noqa: F401
    finally:
        del sys.modules["typing_extensions"]
