"""Layer findings (DF1xx) count only in the stages whose layers ship: the target stage and the stages it is built
FROM; a stage only read by `COPY --from` keeps its caches (issue 12, item 5)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockerfix.rewriter import engine
from dockerfix.rewriter.config import ConfigError, Settings, load
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.pipeline import run_path
from dockerfix.rewriter.stages import shipped_stages

APT = "RUN apt-get update && apt-get install -y gcc\n"
BUILD_THEN_COPY = "FROM debian:bookworm AS build\n" + APT + "FROM debian:bookworm\nCOPY --from=build /out /out\n"


def codes_by_line(text: str, **options) -> set[tuple[str, int]]:
    document = parse_text(text)
    found = engine.check(document, Selection().rules(), options=options)
    return {(finding.code, document.position(finding.start)[0]) for finding in found}


def test_a_stage_only_copied_from_does_not_ship():
    assert shipped_stages(parse_text(BUILD_THEN_COPY)) == {1}


def test_layer_findings_in_a_copied_from_stage_are_dropped_and_other_findings_kept():
    text = BUILD_THEN_COPY.replace("FROM debian:bookworm AS build", "FROM debian AS build")
    found = codes_by_line(text)
    assert not {code for code, line in found if code.startswith("DF1")}
    assert ("DF303", 1) in found  # a base-image finding still concerns the build stage
    assert {code for code, line in codes_by_line("FROM debian:bookworm\n" + APT)} >= {"DF102", "DF103"}


def test_a_merge_in_a_copied_from_stage_is_dropped():
    text = (
        "FROM debian:bookworm AS build\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
        "FROM scratch\nCOPY --from=build /app /app\n"
    )
    assert "DF101" not in {code for code, line in codes_by_line(text)}
    assert engine.fix(parse_text(text).source, Selection().rules()).text == text


@pytest.mark.parametrize(
    "text, shipped",
    [
        ("FROM debian:bookworm AS base\nFROM base AS deps\nFROM deps\n", {0, 1, 2}),
        ("FROM debian:bookworm AS Base\nFROM alpine AS other\nFROM BASE\n", {0, 2}),
        ("ARG STAGE=deps\nFROM debian:bookworm AS deps\nFROM alpine AS tools\nFROM ${STAGE}\n", {0, 2}),
        ("ARG STAGE\nFROM debian:bookworm AS deps\nFROM alpine AS tools\nFROM ${STAGE}\n", {0, 1, 2}),
        ("ARG STAGE\nFROM debian:bookworm AS deps\nFROM alpine AS tools\nFROM ${STAGE:-tools}\n", {1, 2}),
        ("FROM debian:bookworm AS app\nFROM app AS tools\nFROM python:3.12\nCOPY --from=tools / /\n", {2}),
        ("FROM app AS build\nFROM debian:bookworm AS app\n", {1}),  # FROM names earlier stages only
        # the build decides the tag, but a name with `/` or `:` is an image, never a stage: the builder only copies
        ("ARG V\nFROM python:3.12 AS builder\nFROM plone/server:${V}\nCOPY --from=builder /app /app\n", {1}),
        ("ARG V\nFROM python:3.12 AS builder\nFROM example.org:5000/app@${V}\n", {1}),
        (
            "ARG V\nFROM python:3.12 AS builder\nFROM ${V}-slim\n",
            {0, 1},
        ),  # letters around a variable may make a stage name
    ],
)
def test_the_stages_the_target_is_built_from_ship(text, shipped):
    assert shipped_stages(parse_text(text)) == shipped


def test_the_configured_target_stage_ships_instead_of_the_last():
    document = parse_text("FROM debian:bookworm AS base\nFROM base AS dev\nFROM base AS prod\n")
    assert shipped_stages(document, "dev") == {0, 1}
    assert shipped_stages(document, "missing") == {0, 2}  # one configuration serves Dockerfiles without that stage
    assert ("DF102", 2) in codes_by_line(BUILD_THEN_COPY, **{"target-stage": "build"})


def test_target_stage_from_the_configuration_and_the_command_line(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(BUILD_THEN_COPY)
    assert not any(finding.code.startswith("DF1") for finding in run_path(dockerfile, Settings()).findings)
    (tmp_path / ".dockerfix.toml").write_text('target-stage = "Build"\n')
    configured = run_path(dockerfile, load(tmp_path / ".dockerfix.toml")).findings
    assert "DF102" in {finding.code for finding in configured}
    (tmp_path / ".dockerfix.toml").write_text("target-stage = 1\n")
    with pytest.raises(ConfigError, match="`target-stage` must be the name of a stage"):
        load(tmp_path / ".dockerfix.toml")
    (tmp_path / ".dockerfix.toml").unlink()
    command = [sys.executable, "-m", "dockerfix", "--no-progress", "--target-stage", "build", "Dockerfile"]
    output = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120).stdout
    assert "Dockerfile:2:" in output and "DF102" in output


@st.composite
def stage_graphs(draw) -> str:
    """Dockerfiles of 1-6 stages, each FROM an image or an earlier stage, some copying from earlier stages."""
    lines = []
    for index in range(draw(st.integers(1, 6))):
        base = draw(st.sampled_from(["debian:bookworm", *(f"s{earlier}" for earlier in range(index))]))
        lines.append(f"FROM {base} AS s{index}")
        if index and draw(st.booleans()):
            lines.append(f"COPY --from=s{draw(st.integers(0, index - 1))} / /")
    return "\n".join(lines) + "\n"


@given(stage_graphs(), st.integers(0, 5))
def test_shipped_stages_are_the_targets_from_chain(text, target):
    document = parse_text(text)
    chosen = document.stages[min(target, len(document.stages) - 1)]
    shipped = shipped_stages(document, chosen.name)
    chain, base = {chosen.index}, chosen.base_image
    while base.startswith("s"):  # the generator names stage k `sk`
        chain.add(int(base[1:]))
        base = document.stages[int(base[1:])].base_image
    assert shipped == chain


def test_the_slim_suggestion_and_the_split_follow_the_target_stage():
    """DF301 judges the base image of the stage that is built; DF304 rewrites from the final stage to the end of the
    file, so it stays quiet when the target is an earlier stage."""
    runtime_first = (
        'FROM python:3.12 AS app\nCOPY app.py /app/\nCMD ["python", "/app/app.py"]\n'
        "FROM debian:bookworm AS tools\nRUN echo\n"
    )
    assert ("DF301", 1) in codes_by_line(runtime_first, **{"target-stage": "app"})
    assert ("DF301", 1) not in codes_by_line(runtime_first)
    go_split = 'FROM golang:1.22 AS app\nWORKDIR /src\nCOPY . .\nRUN go build -o /server .\nCMD ["/server"]\n'
    assert ("DF304", 1) in codes_by_line(go_split)
    assert ("DF304", 1) not in codes_by_line(
        go_split + "FROM debian:bookworm AS other\nRUN echo\n", **{"target-stage": "app"}
    )


def test_in_a_stage_that_does_not_ship_only_the_index_update_is_merged_with_its_install():
    build = (
        "FROM debian:bookworm AS build\nRUN apt-get update\nRUN apt-get install -y gcc\nRUN mkdir /out\n"
        "RUN touch /out/a\n"
    )
    document = parse_text(build + "FROM debian:bookworm\nCOPY --from=build /out /out\n")
    findings = [finding for finding in engine.check(document, Selection().rules()) if finding.code == "DF101"]
    assert [document.position(finding.start)[0] for finding in findings] == [2]  # not the mkdir/touch pair
    fix, savings = findings[0].fix, findings[0].savings
    assert "stale package lists" in findings[0].message and fix is not None and fix.applicability.label == "safe"
    # no layer of a build stage ships: the claim is cache correctness alone
    assert savings is not None and savings.layers is None and savings.cache_correctness


def test_an_install_after_a_script_that_may_update_the_index_itself_makes_no_cache_claim():
    nodesource = (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
        "RUN curl -fsSL https://example.invalid/setup | bash - && apt-get install -y nodejs\n"
    )
    assert not [code for code, _ in codes_by_line(nodesource) if code == "DF101"]
    plain = (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
        "RUN echo ok && apt-get install -y nodejs\n"
    )
    assert ("DF101", 2) in codes_by_line(plain)
