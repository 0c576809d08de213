"""The unified diff every surface shows: git applies it to the old text and gets the new one, whatever the lines."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerfix.rewriter.pipeline import unified_diff

# lines that are often unique in a text (the matcher's anchors) and some that repeat (blank lines, a common RUN)
LINES = st.one_of(st.integers(0, 40).map(lambda number: f"RUN step{number}\n"), st.sampled_from(["\n", "RUN x\n"]))
TEXTS = st.builds(
    lambda lines, unterminated: "".join(lines) + unterminated,
    st.lists(LINES, max_size=30),
    st.sampled_from(["", "CMD run"]),  # a last line without a line ending
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=TEXTS, edits=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3), st.lists(LINES, max_size=4))))
def test_git_applies_the_diff_to_the_old_text_and_gets_the_new_one(tmp_path: Path, old: str, edits: list) -> None:
    lines = old.splitlines(keepends=True)
    for position, removed, added in edits:  # mostly equal texts with a few changes, as after a fix
        start = min(position, len(lines))
        lines[start : start + removed] = added
    new = "".join(lines)
    (tmp_path / "Dockerfile").write_text(old)
    diff = unified_diff("Dockerfile", old, new)
    if old == new:
        assert diff == ""
        return
    outside_any_repository = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)}  # paths from tmp_path
    subprocess.run(
        ["git", "apply", "-"],
        cwd=tmp_path,
        env=outside_any_repository,
        input=diff.encode(),
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "Dockerfile").read_text() == new
