"""Start-up (issue 22): a check imports only what it uses. Its whole process is measured by bench/startup.py; these
tests hold which libraries a real `dockerfix` process loads, from the interpreter's own import log."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from conftest import maintainer_plugin, plugin_environment, plugin_site
from test_cli import MERGEABLE, write

import dockerfix.rules
from dockerfix.command import COLLECTOR_THRESHOLD
from dockerfix.rewriter.registry import _module_names

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


CI_ENVIRONMENT = {**os.environ, "CI": "true"}  # output piped, as in CI: no colour, no progress bar


def imported_by(
    arguments: list[str], cwd: Path, environment: dict[str, str]
) -> tuple[subprocess.CompletedProcess, set[str]]:
    """`python -m dockerfix ARGUMENTS` and the modules its import statements loaded (the interpreter's log leaves out
    `importlib.import_module`, by which the registry loads rule modules)."""
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
    return result, imported


def loaded(modules: set[str], names: set[str]) -> set[str]:
    return {module for module in modules if any(module == name or module.startswith(name + ".") for name in names)}


def test_a_piped_check_of_one_file_imports_no_other_surface_nor_the_worker_pool_nor_metadata(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    result, imported = imported_by(["--check", "Dockerfile"], tmp_path, CI_ENVIRONMENT)
    assert result.returncode == 1 and "dockerfix.cli" in imported
    assert not loaded(imported, NOT_FOR_A_PIPED_CHECK)


# What a check used to load for nothing (bench/startup.py): dataclasses generates each record's methods from source
# (0.5 ms a class, about 90 classes); ctypes interrupts only an analysis over its time budget; importlib.resources'
# readers (with zipfile) read the shipped data files, which lie beside the modules; inspect (with ast, dis and
# tokenize, ~7 ms) came with msgspec's use of typing_extensions and with pkgutil's listing of the rules; tomllib parsed
# the base-image data, shipped as JSON now, and loads only for a TOML file (a configuration, a pyproject.toml read).
NOT_FOR_A_CHECK_OF_ONE_FILE = {
    "dataclasses",
    "ctypes",
    "importlib.readers",
    "importlib.resources.readers",
    "zipfile",
    "inspect",
    "ast",
    "pkgutil",
    "tomllib",
}


def test_a_check_of_one_file_generates_no_record_code_nor_loads_what_only_other_runs_need(tmp_path):
    write(tmp_path / "Dockerfile", "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n")
    result, imported = imported_by(["--check", "Dockerfile"], tmp_path, CI_ENVIRONMENT)
    assert result.returncode == 1 and b"DF102" in result.stdout  # the base image's data was read
    assert not loaded(imported, NOT_FOR_A_CHECK_OF_ONE_FILE)


def test_a_check_whose_file_gets_a_multi_stage_split_loads_no_template_engine(tmp_path):
    """DF304 writes its two stages itself: jinja2 took 38 ms of the process's first split (27 ms its import), paid by
    every worker of a run over many files."""
    go_build = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\nUSER app\nCMD /bin/app --serve\n"
    write(tmp_path / "Dockerfile", go_build)
    result, imported = imported_by(["--check", "--unsafe-fixes", "Dockerfile"], tmp_path, CI_ENVIRONMENT)
    assert result.returncode == 1 and b"DF304" in result.stdout and b"Would rewrite: Dockerfile" in result.stdout
    assert not loaded(imported, {"jinja2"})


def test_the_rules_are_the_modules_pkgutil_lists():
    """The registry lists the built-in rules' folder itself (pkgutil imports inspect to name what it lists)."""
    listed = [info.name for info in pkgutil.iter_modules(dockerfix.rules.__path__)]
    assert _module_names(dockerfix.rules) == listed and len(listed) > 30


def test_msgspec_without_typing_extensions_still_reads_every_hint_and_leaves_the_library_importable():
    """A fresh process: dockerfix imports msgspec without typing_extensions, which any later import still gets, and
    msgspec still tells a required key of a TypedDict (typing's Required) from the others."""
    script = textwrap.dedent(
        """
        import sys
        import dockerfix, msgspec
        assert "typing_extensions" not in sys.modules and "inspect" not in sys.modules
        import typing_extensions
        from typing import Required, TypedDict

        class Limits(TypedDict, total=False):
            size: Required[int]
            label: str

        assert msgspec.convert({"size": 1}, Limits) == {"size": 1}
        try:
            msgspec.convert({"label": "x"}, Limits)
        except msgspec.ValidationError as error:
            print(error)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Object missing required field `size`\n"


def test_the_process_leaves_what_it_loaded_to_the_operating_system_and_still_runs_its_exit_handlers(tmp_path):
    """The interpreter's last collection would walk and free every module and class a check loaded: the process
    freezes them first. Its exit status and atexit handlers are the check's own."""
    write(tmp_path / "Dockerfile", MERGEABLE)
    script = textwrap.dedent(
        """
        import atexit, gc, runpy, sys
        atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 1000))
        sys.argv = ["dockerfix", "--check", "Dockerfile"]
        runpy.run_module("dockerfix", run_name="__main__")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=CI_ENVIRONMENT
    )
    assert result.returncode == 1 and "DF101" in result.stdout
    assert result.stdout.endswith("frozen at exit: True\n")


def test_the_check_raises_the_collector_threshold_before_its_modules_load(tmp_path):
    """Importing the check's modules and rules made the collector run ~50 times for no garbage."""
    write(tmp_path / "Dockerfile", MERGEABLE)
    script = textwrap.dedent(
        """
        import gc, runpy, sys
        sys.addaudithook(
            lambda event, arguments: event == "import" and arguments[0] == "dockerfix.cli" and print(gc.get_threshold())
        )
        sys.argv = ["dockerfix", "--check", "Dockerfile"]
        runpy.run_module("dockerfix", run_name="__main__")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=CI_ENVIRONMENT
    )
    assert result.returncode == 1 and "DF101" in result.stdout
    assert result.stdout.startswith(f"({COLLECTOR_THRESHOLD}, ")


PLUGIN = maintainer_plugin("DF951")


def check_with_plugin(tmp_path: Path, plugin_path: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """A check selecting the plugin's rule, with ``plugin_path`` on the interpreter's path."""
    write(tmp_path / "Dockerfile", "FROM debian\nMAINTAINER me\n")
    return imported_by(["--extend-select", "DF951", "Dockerfile"], tmp_path, plugin_environment(plugin_path))


def found_the_plugin(result: subprocess.CompletedProcess) -> bool:
    return "Dockerfile:2:1: DF951 MAINTAINER is deprecated" in result.stdout.decode() and result.returncode == 1


def test_an_installed_plugin_is_still_found_and_run(tmp_path):
    """The plugin's distribution is what loads the metadata library: the check finds its rule and runs it."""
    result, imported = check_with_plugin(tmp_path, plugin_site(tmp_path, PLUGIN))
    assert found_the_plugin(result) and "importlib.metadata" in imported


def test_a_plugin_package_of_rule_modules_is_found_and_run(tmp_path):
    """A plugin may name a package: each of its modules is read for rules, as pkgutil lists them."""
    site = plugin_site(tmp_path, PLUGIN)
    package = site / "acme_rules"
    package.mkdir()
    (site / "acme_rules.py").rename(package / "df951_no_maintainer.py")
    (package / "__init__.py").write_text("")
    result, _ = check_with_plugin(tmp_path, site)
    assert found_the_plugin(result)


def test_a_plugin_installed_in_a_zip_archive_is_found_too(tmp_path):
    """A zip archive on the path is read by the metadata library itself, never skipped."""
    site = plugin_site(tmp_path, PLUGIN)
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as plugins:
        for file in sorted(site.rglob("*")):
            if file.is_file():
                plugins.write(file, file.relative_to(site).as_posix())
    result, _ = check_with_plugin(tmp_path, archive)
    assert found_the_plugin(result)


def test_a_plugin_declared_past_the_first_megabyte_of_its_entry_points_is_found_too(tmp_path):
    """The file is read up to a bound: beyond it, the library reads it whole."""
    site = plugin_site(tmp_path, PLUGIN)
    entry_points = site / "acme_rules-1.0.dist-info" / "entry_points.txt"
    commands = "".join(f"tool{index} = acme_rules:main\n" for index in range(60_000))
    entry_points.write_text(f"[console_scripts]\n{commands}{entry_points.read_text()}")
    assert entry_points.stat().st_size > 1_000_000
    result, _ = check_with_plugin(tmp_path, site)
    assert found_the_plugin(result)
