"""DF203 moves RUNs above the source COPY only when the build still produces the same files: emulate both
Dockerfiles in real `sh` against a scratch root folder and compare what they leave behind."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.rule import RuleContext
from dockerfix.rewriter.source import Source
from dockerfix.rules.df203_stable_step_before_source_copy import StableStepBeforeSourceCopy

# Commands with absolute paths under the folders the emulation maps into its scratch root; some read or write the
# folder the source lands in (/app), some only other folders, some depend on the working folder or a variable.
COMMANDS = [
    "mkdir -p /data",
    "mkdir -p /data/x && touch /data/x/f",
    "touch /data/t",
    "rm -rf /data",
    "rm -rf /data/*",
    "chmod 700 /data",
    "ln -s /app/a.txt /data/link",
    "ln -sf /data /srv/data",
    "true",
    "set -e; mkdir -p /srv/cache",
    "echo start > /dev/null",
    "rm -f /srv/data",
    "mkdir -p /app/new",
    "rm -rf /app/sub",
    "touch /app/a.txt",
    "chmod 600 /app/a.txt",
    "ls /app > /dev/null",
    "cat /app/a.txt > /data/copy",
    "cp /app/a.txt /data/",
    "touch a.txt",
    "mkdir -p sub2",
    "ln -s /data /app/d",
    "touch /app/$V",
    "rm -rf /app*",
    "mkdir -p /data/$V",
    "cd /app && touch here",
    "sh /app/run.sh",
    "rm -rf /",
    "mkdir /data /app/twice",
]
OTHER_INSTRUCTIONS = ["ENV V=one", "ENV V=two", "ARG A=1", "LABEL purpose=test", "WORKDIR /srv", "EXPOSE 80"]
CONTEXT = {"a.txt": "a\n", "sub/b.txt": "b\n", "run.sh": "mkdir -p /data/ran\n"}
MAPPED = re.compile(r"(?<![\w.$/])/(app|data|srv)(?=[/\s*]|$)")


@st.composite
def dockerfile(draw) -> str:
    copy = draw(
        st.sampled_from(["COPY . /app\n", "WORKDIR /app\nCOPY . .\n", "WORKDIR /app\nCOPY . ./\n", "ADD . /app/\n"])
    )
    after = draw(
        st.lists(
            st.one_of(
                st.sampled_from(COMMANDS).map(lambda command: f"RUN {command}\n"),
                st.sampled_from(OTHER_INSTRUCTIONS).map(lambda text: text + "\n"),
            ),
            min_size=1,
            max_size=5,
        )
    )
    return "FROM alpine\n" + copy + "".join(after)


def build(text: str) -> tuple[bool, dict | None, dict | None]:
    """Run a Dockerfile as a builder would, in a scratch root: WORKDIR creates and enters a folder, ENV/ARG set
    variables, COPY/ADD of the context copies it, each RUN is a fresh `sh -c` until one fails. Returns whether it
    succeeded and, when it did (a failed build has no image), every path with its mode and content or link target,
    and the variables."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "root"
        context = Path(scratch) / "context"
        for name, content in CONTEXT.items():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            (context / name).write_text(content)
        root.mkdir()
        workdir = "/"
        variables: dict[str, str] = {}
        for instruction in parse_text(text).instructions:
            value = instruction.value
            if instruction.cmd == "workdir":
                workdir = os.path.normpath(os.path.join(workdir, value[0]))
                (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
            elif instruction.cmd in ("env", "arg"):
                name, _, setting = value[0].partition("=")
                variables[name] = setting
            elif instruction.cmd in ("copy", "add"):
                target = root / os.path.normpath(os.path.join(workdir, value[-1])).lstrip("/")
                shutil.copytree(context, target, dirs_exist_ok=True)
            elif instruction.cmd == "run":
                command = MAPPED.sub(lambda match: f"{root}{match.group(0)}", instruction.arguments)
                cwd = root / workdir.lstrip("/")
                cwd.mkdir(parents=True, exist_ok=True)
                environment = {"PATH": os.environ["PATH"], **variables}
                if subprocess.run(
                    ["sh", "-c", command], cwd=cwd, env=environment, capture_output=True, timeout=20
                ).returncode:
                    return False, None, None
        return True, snapshot(root, str(root)), variables


def snapshot(root: Path, prefix: str) -> dict:
    state: dict[str, tuple[str | int, str | None]] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            state[relative] = ("link", os.readlink(path).replace(prefix, "<root>"))
        else:
            state[relative] = (path.stat().st_mode & 0o777, path.read_text() if path.is_file() else None)
    return state


def fixed(text: str) -> str:
    return engine.fix(Source(text), [StableStepBeforeSourceCopy()], unsafe_fixes=True).text


EXAMPLES = int(os.environ.get("DOCKERFIX_EXAMPLES", "150"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dockerfile())
def test_moved_runs_build_the_same_files(text):
    after = fixed(text)
    assert build(after) == build(text), after


def test_the_emulation_sees_a_wrong_move():
    """The property can fail: moving a RUN that writes into the folder the source lands in changes the files."""
    text = "FROM alpine\nCOPY . /app\nRUN touch /app/a.txt && chmod 600 /app/a.txt\n"
    moved = "FROM alpine\nRUN touch /app/a.txt && chmod 600 /app/a.txt\nCOPY . /app\n"
    assert build(moved) != build(text)
    assert fixed(text) == text


def test_moves_independent_runs_with_their_variables():
    text = (
        "FROM alpine\nCOPY . /app\nENV V=one\nRUN mkdir -p /data\nLABEL a=b\nRUN touch /data/t\n"
        "RUN cat /app/a.txt > /data/copy\nRUN rm -rf /data/x\n"
    )
    assert fixed(text) == (
        "FROM alpine\nENV V=one\nRUN mkdir -p /data\nRUN touch /data/t\nCOPY . /app\nLABEL a=b\n"
        "RUN cat /app/a.txt > /data/copy\nRUN rm -rf /data/x\n"
    )
    assert build(fixed(text)) == build(text)


def findings(text: str):
    return list(StableStepBeforeSourceCopy().check(parse_text(text), RuleContext()))


def test_reports_the_rebuilt_steps_before_and_after():
    """A source edit re-runs the COPY and every RUN after it: 5 steps, 3 once the two system steps are above it."""
    (finding,) = findings(
        "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN apt-get update && apt-get install -y libpq5\n"
        "RUN pip install --upgrade pip\n"
        "RUN pip install -r requirements.txt\nRUN python manage.py collectstatic\n"
    )
    assert (finding.savings.rebuilt_steps_before, finding.savings.rebuilt_steps_after) == (5, 3)
    assert finding.fix.applicability.label == "unsafe"


def test_a_workdir_between_is_reported_not_moved():
    (finding,) = findings("FROM debian:12\nCOPY . /code\nWORKDIR /code\nRUN apt-get update && apt-get install -y gcc\n")
    assert finding.fix is None
    assert "WORKDIR on line 3" in finding.message


def test_pip_named_installs_move_but_not_local_ones():
    for install in (
        "pip install -r requirements.txt",
        "pip install .",
        "pip install dist/app.whl",
        "pip install app.tar.gz",
        "pip install -e .",
        "pip install --target=/app/lib x",
        "/app/venv/bin/pip install x",
    ):
        assert not findings(f"FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN {install}\n"), install
    assert findings("FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir gunicorn==22.0.0\n")
    assert not findings("FROM python:3.12\nCOPY . /root\nRUN pip install gunicorn\n")
    assert not findings("FROM python:3.12\nWORKDIR /app\nENV PYTHONPATH=/app\nCOPY . .\nRUN pip install gunicorn\n")


def test_steps_that_may_touch_the_folder_stay():
    """Options that name a path, folders packages and users write into, and a package file: no finding."""
    for text in (
        "FROM debian:12\nCOPY . /srv/app\nRUN chmod --reference=/srv/app/run.sh /usr/local/bin/tool\n",
        "FROM debian:12\nCOPY . /srv/app\nRUN ln -s -t /srv/app /usr/share/tool\n",
        "FROM debian:12\nCOPY . /opt\nRUN apt-get update && apt-get install -y google-chrome-stable\n",
        "FROM debian:12\nCOPY . /home\nRUN useradd -m app\n",
        "FROM debian:12\nCOPY . /usr/src\nRUN apt-get install -y linux-headers-amd64\n",
        "FROM debian:12\nCOPY . /srv/app\nRUN mkdir -m 700 /srv/app/keys\n",
    ):
        assert not findings(text), text
    assert findings("FROM debian:12\nCOPY . /usr/src/app\nRUN apt-get install -y linux-headers-amd64\n")
