"""DF301 offers a slim base only with what the stage needs from the full one, shows a size only for the same
version, leaves a JDK -> JRE swap to the maintainer, and states its byte gain with the data it rests on."""

from __future__ import annotations

from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.fixes import Applicability, ByteGain
from dockerfix.rewriter.source import Source
from dockerfix.rules.df301_slim_base_image import SlimBaseImage

JAR = 'COPY app.jar /app.jar\nCMD ["java", "-jar", "/app.jar"]\n'


def findings(text: str, context: BuildContext | None = None):
    return engine.check(parse_text(text), [SlimBaseImage()], context)


def fixed(text: str, context: BuildContext | None = None) -> str:
    return engine.fix(Source(text), [SlimBaseImage()], context, unsafe_fixes=True).text


def test_a_jdk_to_jre_swap_is_only_shown():
    (finding,) = findings("FROM eclipse-temurin:21-jdk\n" + JAR)
    assert finding.fix.applicability is Applicability.DISPLAY_ONLY and "21-jre" in finding.fix.title
    assert fixed("FROM eclipse-temurin:21-jdk\n" + JAR).startswith("FROM eclipse-temurin:21-jdk\n")


def test_no_size_from_another_major_version():
    # the data measures Java 17 and 21, Node 22, Python 3.11 to 3.13: no Java 21 figure for Java 11, nor Node 22's
    # for Node 20; Python 3.9 gets the newest Python 3 measurement, and the message names it
    assert findings("FROM eclipse-temurin:17-jdk\n" + JAR)
    assert not findings("FROM eclipse-temurin:11-jdk\n" + JAR)
    assert not findings('FROM node:20\nCMD ["node", "server.js"]\n')
    (python,) = findings('FROM python:3.9\nCMD ["python", "app.py"]\n')
    assert "python:3.13" in python.savings.byte_gain.basis


def test_the_byte_gain_names_the_measured_tags_and_their_source():
    (finding,) = findings('FROM python:3.12\nRUN pip install --no-cache-dir flask\nCMD ["flask", "run"]\n')
    gain = finding.savings.byte_gain
    assert isinstance(gain, ByteGain) and "python:3.12-slim" in gain.basis and "repo-info" in gain.basis


def test_a_vcs_requirement_gets_git_installed(tmp_path):
    (tmp_path / "requirements.txt").write_text("flask\nmylib @ git+https://example.invalid/mylib.git@v1\n")
    text = "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
    after = fixed(text, BuildContext.from_directory(tmp_path))
    assert "FROM python:3.11-slim" in after and "ca-certificates git" in after
    command_line = "FROM python:3.11\nRUN pip install git+https://example.invalid/mylib.git\n"
    assert "ca-certificates git" in fixed(command_line)


def test_a_build_from_source_that_cannot_be_told_is_only_shown(tmp_path):
    (finding,) = findings("FROM python:3.12\nRUN pip install --no-binary :all: lxml\n")
    assert finding.fix is None or finding.fix.applicability is Applicability.DISPLAY_ONLY
    (tmp_path / "setup.py").write_text(
        "from setuptools import Extension, setup\nsetup(name='x', ext_modules=[Extension('x', ['x.c'])])\n"
    )
    text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
    (local,) = findings(text, BuildContext.from_directory(tmp_path))
    assert local.fix is None or local.fix.applicability is Applicability.DISPLAY_ONLY
