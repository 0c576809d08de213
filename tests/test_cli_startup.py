"""Start-up (issue 22): a check imports only what it uses. Its whole process is measured by bench/startup.py; these
tests hold which libraries a real `dockerfix` process loads, from the interpreter's own import log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import plugin_environment, plugin_site
from test_cli import MERGEABLE, write

# The other surfaces' libraries (rich draws on a terminal only) and what only a run over many files, `--version` or
# an installed plugin needs: the worker pool and the installed distributions' metadata.
NOT_FOR_A_PIPED_CHECK = {
    "jinja2",
    "httpx",
    "pygls",
    "lsprotocol",
    "rich",
    "concurrent.futures",
    "multiprocessing",
    "importlib.metadata",
}


def imported_by(arguments: list[str], cwd: Path, environment: dict[str, str]) -> tuple[int, set[str]]:
    """The exit code of `python -m dockerfix ARGUMENTS` and every module the process imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dockerfix", *arguments],
        cwd=cwd,
        capture_output=True,
        timeout=120,
        env=environment,
    )
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.decode().splitlines()
        if line.startswith("import time:")
    }
    return result.returncode, imported


def loaded(modules: set[str], names: set[str]) -> set[str]:
    return {module for module in modules if any(module == name or module.startswith(name + ".") for name in names)}


def test_a_piped_check_of_one_file_imports_no_other_surface_nor_the_worker_pool_nor_metadata(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    code, imported = imported_by(["--check", "Dockerfile"], tmp_path, {**os.environ, "CI": "true"})
    assert code == 1 and "dockerfix.cli" in imported
    assert not loaded(imported, NOT_FOR_A_PIPED_CHECK)


def test_an_installed_plugin_is_still_found_and_run(tmp_path):
    """The plugin's distribution is what loads the metadata library: the check finds its rule and runs it."""
    site = plugin_site(
        tmp_path,
        '''
        from dockerfix.rewriter.rule import Rule

        class NoMaintainer(Rule):
            """What it does: flags MAINTAINER. Why: deprecated. Example: MAINTAINER x. Fix safety: no fix."""
            code = "DF951"
            name = "no-maintainer"
            summary = "MAINTAINER is deprecated."

            def check(self, document, context):
                for instruction in document.instructions:
                    if instruction.cmd == "maintainer":
                        yield self.finding("MAINTAINER is deprecated", instruction.start, instruction.end)
        ''',
    )
    write(tmp_path / "Dockerfile", "FROM debian\nMAINTAINER me\n")
    code, imported = imported_by(["--extend-select", "DF951", "Dockerfile"], tmp_path, plugin_environment(site))
    assert code == 1 and "acme_rules" in imported and "importlib.metadata" in imported
