"""Exit codes of every checking mode, as ruff's: 0 clean, 1 findings remain in the selected set, 2 a usage or input
error, a rule failure or an unknown rule code; ``--exit-zero`` turns 1 into 0 (issue 23)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import plugin_site
from test_cli import CLEAN, MERGEABLE, MERGES, dockerfix, write

from dockerfix.rewriter.registry import all_rules

# apt cleanup and no-install-recommends: findings whose fixes are all unsafe, so nothing changes without --unsafe-fixes
UNSAFE_ONLY = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"


@pytest.mark.parametrize("mode", [(), ("--check",), ("--diff",)])
def test_findings_with_only_unsafe_fixes_fail_every_checking_mode(tmp_path, mode):
    write(tmp_path / "Dockerfile", UNSAFE_ONLY)
    result = dockerfix(*mode, "Dockerfile", cwd=tmp_path)
    assert result.returncode == 1, result.stdout.decode()
    assert dockerfix(*mode, "--exit-zero", "Dockerfile", cwd=tmp_path).returncode == 0


def test_write_exits_1_while_findings_remain_and_0_once_everything_is_fixed(tmp_path):
    write(tmp_path / "Dockerfile", UNSAFE_ONLY)
    assert dockerfix("--write", "Dockerfile", cwd=tmp_path).returncode == 1
    target = write(tmp_path / "merge" / "Dockerfile", MERGEABLE)
    assert dockerfix(*MERGES, "--write", "merge/Dockerfile", cwd=tmp_path).returncode == 0
    assert target.read_text() != MERGEABLE


@pytest.mark.parametrize("mode", [(), ("--check",), ("--diff",), ("--write",)])
def test_a_clean_file_exits_0_in_every_mode(tmp_path, mode):
    write(tmp_path / "Dockerfile", CLEAN)
    assert dockerfix(*mode, "Dockerfile", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("flag", ["--select", "--ignore", "--extend-select"])
@pytest.mark.parametrize("code", ["XYZ999", "DF9", "DF1011"])
def test_an_unknown_code_or_prefix_on_the_command_line_is_a_usage_error(tmp_path, flag, code):
    write(tmp_path / "Dockerfile", MERGEABLE)
    result = dockerfix(flag, code, "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    assert code in result.stderr.decode() and "All checks passed" not in result.stdout.decode()


@pytest.mark.parametrize("key", ["select", "ignore", "extend-select"])
def test_an_unknown_code_in_the_configuration_is_an_error_naming_file_and_key(tmp_path, key):
    write(tmp_path / "Dockerfile", MERGEABLE)
    write(tmp_path / ".dockerfix.toml", f'{key} = ["XYZ999"]\n')
    result = dockerfix("Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        ".dockerfix.toml" in result.stderr.decode()
        and "XYZ999" in result.stderr.decode()
        and key in result.stderr.decode()
    )


def test_an_unknown_code_in_per_file_ignores_is_an_error(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    write(tmp_path / ".dockerfix.toml", '[per-file-ignores]\n"Dockerfile" = ["DF9"]\n')
    assert dockerfix("Dockerfile", cwd=tmp_path).returncode == 2


def test_all_selects_every_rule_and_can_be_narrowed_by_ignore(tmp_path):
    write(tmp_path / "Dockerfile", UNSAFE_ONLY)
    everything = dockerfix("--select", "ALL", "--output-format", "json", "Dockerfile", cwd=tmp_path)
    assert everything.returncode == 1 and '"DF102"' in everything.stdout.decode()
    assert dockerfix("--select", "ALL", "--ignore", "DF102,DF103", "Dockerfile", cwd=tmp_path).returncode == 0
    write(tmp_path / ".dockerfix.toml", 'select = ["ALL"]\n')
    assert dockerfix("Dockerfile", cwd=tmp_path).returncode == 1


def test_extend_select_adds_to_the_configured_selection(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    write(tmp_path / ".dockerfix.toml", 'select = ["DF3"]\n')
    assert dockerfix("Dockerfile", cwd=tmp_path).returncode == 0
    assert dockerfix("--extend-select", "DF101", "Dockerfile", cwd=tmp_path).returncode == 1
    write(tmp_path / ".dockerfix.toml", 'select = ["DF3"]\nextend-select = ["DF101"]\n')
    assert dockerfix("Dockerfile", cwd=tmp_path).returncode == 1


def test_statistics_count_findings_by_rule(tmp_path):
    write(tmp_path / "a" / "Dockerfile", MERGEABLE)
    write(tmp_path / "b" / "Dockerfile", MERGEABLE)
    result = dockerfix(*MERGES, "--statistics", ".", cwd=tmp_path)
    assert result.returncode == 1
    rows = [line.split() for line in result.stdout.decode().splitlines() if "DF101" in line]
    assert rows and rows[0][0] == "2" and rows[0][1] == "DF101", result.stdout.decode()


def test_every_rule_code_is_a_valid_selector(tmp_path):
    write(tmp_path / "Dockerfile", CLEAN)
    codes = ",".join(rule.code for rule in all_rules())
    assert dockerfix("--select", codes, "Dockerfile", cwd=tmp_path).returncode == 0


def test_an_opt_in_rule_runs_only_when_named_by_its_code_or_all(tmp_path):
    site = plugin_site(
        tmp_path,
        '''
        from dockerfix.rewriter.fixes import Savings, Unknown
        from dockerfix.rewriter.rule import Rule

        class Maintainer(Rule):
            """What it does: flags MAINTAINER. Why: deprecated. Example: MAINTAINER x. Fix safety: no fix."""
            code = "DF951"
            name = "maintainer-opt-in"
            summary = "MAINTAINER is deprecated."
            opt_in = True

            def check(self, document, context):
                for instruction in document.instructions:
                    if instruction.cmd == "maintainer":
                        unknown = Savings.of(Unknown("not measured"))
                        yield self.finding(
                            "MAINTAINER is deprecated", instruction.start, instruction.end, None, unknown
                        )
    ''',
        module="opt_in_rules",
    )
    write(tmp_path / "Dockerfile", "FROM debian:bookworm\nMAINTAINER me\n")
    environment = {"PYTHONPATH": os.pathsep.join([str(site), *sys.path])}

    def codes(*arguments):
        result = subprocess.run(
            [sys.executable, "-m", "dockerfix", "--output-format", "json", *arguments, "Dockerfile"],
            cwd=tmp_path,
            capture_output=True,
            env={**os.environ, **environment},
            timeout=120,
        )
        return {finding["code"] for item in json.loads(result.stdout)["files"] for finding in item["findings"]}

    assert "DF951" not in codes()
    assert "DF951" not in codes("--select", "DF9")
    assert "DF951" in codes("--select", "DF951")
    assert "DF951" in codes("--extend-select", "DF951")
    assert "DF951" in codes("--select", "ALL")
