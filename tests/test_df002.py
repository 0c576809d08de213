"""DF002 reports what BuildKit refuses; on the real corpus, only the three files that cannot build."""

from __future__ import annotations

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
        "00827.Dockerfile": ["unknown instruction `apt-get`: BuildKit stops here"] * 2,  # lines 15-16
        "00907.Dockerfile": ["unknown instruction `docker`: BuildKit stops here"],  # line 30, inside a commented CMD
        "01311.Dockerfile": ["unknown instruction `wget`: BuildKit stops here"],  # line 27
    }
