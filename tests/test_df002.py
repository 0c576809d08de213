"""DF002 reports what BuildKit refuses; on the real corpus, only the three files that cannot build."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import requires_corpus
from test_cli import dockerfix, write

from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import run_path

REAL = Path("../shared/corpus/real")


def test_an_unknown_instruction_and_a_file_of_only_from_fail_the_check(tmp_path):
    write(tmp_path / "a" / "Dockerfile", "FROM debian:bookworm\nRUNX foo\n")
    write(tmp_path / "b" / "Dockerfile", "FROM\n")
    result = dockerfix("--output-format", "sarif", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.decode().count('"ruleId": "DF002"') == 2
    assert '"level": "error"' in result.stdout.decode()


@requires_corpus
def test_on_the_real_corpus_only_the_files_that_cannot_build():
    settings = Settings(select=("DF002",))
    flagged = {}
    for path in sorted(REAL.glob("*.Dockerfile")):
        result = run_path(path, settings, write=False)
        if result.findings:
            flagged[path.name] = [finding.message for finding in result.findings]
    # each a continuation line that lost its backslash, read by hand: BuildKit's dispatcher stops on the word
    assert flagged == {
        # lines 15-16: BuildKit stops at the first, the second is counted in its message
        "00827.Dockerfile": ["unknown instruction `apt-get`: BuildKit stops here (and 1 more line after it)"],
        "00907.Dockerfile": ["unknown instruction `docker`: BuildKit stops here"],  # line 30, inside a commented CMD
        "01311.Dockerfile": ["unknown instruction `wget`: BuildKit stops here"],  # line 27
    }


def test_buildkit_stops_at_the_first_refusal_so_lines_it_never_reads_are_counted_not_reported(tmp_path):
    """Continuation lines that lost their backslash are one error at the first, the rest counted, as BuildKit's
    parser reports it: not one finding per line. (An unrendered template is skipped with a warning instead:
    test_review_b_classes.)"""
    dockerfile = "FROM debian:bookworm\nRUN ./configure\n    make\n    make install\n"
    write(tmp_path / "Dockerfile", dockerfile)
    result = dockerfix("--output-format", "json", "Dockerfile", cwd=tmp_path)
    findings = json.loads(result.stdout)["files"][0]["findings"]
    assert result.returncode == 1
    assert [(finding["code"], finding["range"]["start"]["line"]) for finding in findings] == [("DF002", 3)]
    assert findings[0]["message"] == "unknown instruction `make`: BuildKit stops here (and 1 more line after it)"
