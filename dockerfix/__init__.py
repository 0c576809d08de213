"""dockerfix: rewrites Dockerfiles into smaller, more cache-friendly ones, safely."""

try:
    from ._version import (
        __version__,
    )  # written from the git tag when the package is built or installed (setuptools-scm)
except ImportError:  # a source tree that was never installed
    __version__ = "0+unknown"
