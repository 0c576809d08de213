"""dockerfix: rewrites Dockerfiles into smaller, more cache-friendly ones, safely."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dockerfix")  # set from the git tag when the package was built (setuptools-scm)
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
