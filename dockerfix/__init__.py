"""dockerfix: rewrites Dockerfiles into smaller, more cache-friendly ones, safely."""

__version__ = "0.1.0"
