"""``dockerfix verify``: build the Dockerfile before and after its fixes and show the measured difference."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from dockerfix.rewriter.config import ConfigError, discover
from dockerfix.rewriter.source import SourceError

from .engine import DockerClient, EngineError
from .measure import NothingToVerify, verify
from .render import print_rich

EXIT_EQUIVALENT, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockerfix verify",
        description="Build a Dockerfile and its fixed version with the local Docker engine (DOCKER_HOST) and compare "
        "layers, sizes, cache reuse after a source edit and the images' contents.",
    )
    parser.add_argument("dockerfile", type=Path)
    parser.add_argument("--context", type=Path, help="build-context folder (default: the Dockerfile's folder)")
    parser.add_argument("--touch", metavar="PATH", help="context file to edit for the cache measurement (default: a source file that is not a dependency manifest)")
    parser.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply fixes marked unsafe")
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    return parser


def main(argv: Sequence[str]) -> int:
    arguments = _parser().parse_args(argv)
    as_json = arguments.output_format == "json"
    try:
        settings = discover(arguments.dockerfile).override(unsafe_fixes=arguments.unsafe_fixes)
        report = verify(arguments.dockerfile, settings, DockerClient.from_environment(), arguments.context, arguments.touch)
    except NothingToVerify as nothing:
        sys.stderr.write(f"{nothing}\n")
        if as_json:  # a script reading stdout gets a document whatever happened
            _print_json({**_outcome(arguments.dockerfile), "equivalent": True, "applied_fixes": [], "message": str(nothing)})
        return EXIT_EQUIVALENT
    except (SourceError, ConfigError, EngineError, ValueError) as error:
        sys.stderr.write(f"error: {error}\n")
        if as_json:
            _print_json({**_outcome(arguments.dockerfile), "error": str(error)})
        return EXIT_ERROR
    if as_json:
        _print_json(report.as_json())
    else:
        from rich.console import Console

        print_rich(report, Console())
    return EXIT_EQUIVALENT if report.equivalent else EXIT_DIFFERENT


def _outcome(dockerfile: Path) -> dict:
    """The fields a JSON report has even when nothing was built."""
    return {"version": 1, "dockerfile": str(dockerfile)}


def _print_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
