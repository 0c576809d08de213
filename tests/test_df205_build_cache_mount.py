"""DF205 build-cache-mount: which folders go, cargo, maven and gradle get, when a fix is only a suggestion, and that
the RUNs of a tool get the mount together or not at all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.fixes import Applicability
from dockerfix.rewriter.source import Source
from dockerfix.rules.df205_build_cache_mount import BuildCacheMount

RULE = BuildCacheMount()


def findings(text: str, target: str = "buildkit", **options):
    return engine.check(parse_text(text), [RULE], options={"target": target, **options})


def mounts(text: str) -> list[str]:
    """The cache mount targets each RUN of the fixed text has, RUN by RUN."""
    fixed = engine.fix(Source(text), [RULE], unsafe_fixes=True, options={"target": "buildkit"}).text
    return [
        " ".join(re.findall(r"--mount=type=cache,target=(\S+?)(?:,|\s)", line))
        for line in fixed.splitlines()
        if line.startswith("RUN")
    ]


@pytest.mark.parametrize("example", BuildCacheMount.invalid, ids=lambda example: example.before.splitlines()[0])
def test_legacy_target_is_quiet(example):
    assert findings(example.before)
    assert findings(example.before, "legacy") == ()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("FROM golang:1.22\nRUN go build ./...\n", ["/go/pkg/mod /root/.cache/go-build"]),
        ("FROM alpine:3.20\nRUN apk add go && go mod download\n", ["/root/go/pkg/mod"]),
        ("FROM debian:12\nENV GOMODCACHE=/mods XDG_CACHE_HOME=/xdg\nRUN go test ./...\n", ["/mods /xdg/go-build"]),
        ("FROM debian:12\nENV HOME=/home/me\nRUN go build .\n", ["/home/me/go/pkg/mod /home/me/.cache/go-build"]),
        ("FROM debian:12\nRUN GOCACHE=/tmp/gocache go build .\n", ["/root/go/pkg/mod /tmp/gocache"]),
        (
            "FROM debian:12\nENV GO111MODULE=off\nRUN go build .\n",
            ["/root/.cache/go-build"],
        ),  # GOPATH mode: no module cache
        ("FROM rust:1.80\nRUN cargo fetch\n", ["/usr/local/cargo/registry /usr/local/cargo/git"]),
        ("FROM debian:12\nRUN cargo build --release\n", ["/root/.cargo/registry /root/.cargo/git"]),
        ("FROM eclipse-temurin:21\nRUN mvn -Dmaven.repo.local=/m2 package\n", ["/m2"]),
        ("FROM eclipse-temurin:21\nRUN sh ./mvnw package\n", ["/root/.m2/repository"]),
        ("FROM eclipse-temurin:21\nRUN gradle -g /gh build\n", ["/gh/caches"]),
        ("FROM eclipse-temurin:21\nRUN ./gradlew --version\n", ["/root/.gradle/wrapper/dists"]),
        # a RUN that already holds one of the caches gets only the other
        (
            "FROM golang:1.22\nRUN --mount=type=cache,target=/go/pkg/mod go build .\n",
            ["/go/pkg/mod /root/.cache/go-build"],
        ),
        # the source bound over the WORKDIR is no cache folder
        (
            "FROM golang:1.22\nWORKDIR /src\nRUN --mount=type=bind,target=. go build .\n",
            ["/go/pkg/mod /root/.cache/go-build"],
        ),
    ],
)
def test_folders(text, expected):
    assert mounts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "FROM eclipse-temurin:21\nENV HOME=/home/me\nRUN mvn package\n",  # Java's home is root's passwd entry
        "FROM eclipse-temurin:21\nENV MAVEN_OPTS=-Dmaven.repo.local=/m2\nRUN mvn package\n",
        "FROM eclipse-temurin:21\nRUN mvn -s /opt/settings.xml package\n",
        "FROM eclipse-temurin:21\nENV GRADLE_USER_HOME=$HOME/g\nRUN gradle build\n",
        "FROM debian:12\nENV GOPATH=/a:/b\nRUN go build .\n",
        "FROM debian:12\nUSER builder\nRUN cargo build\n",
        "FROM debian:12\nARG CARGO_HOME\nRUN cargo build\n",
        "FROM golang:1.22 AS base\nENV GOPATH=/src\nFROM base\nRUN go build .\n",
        "FROM golang:1.22-onbuild\nRUN go build .\n",
        "FROM ${IMAGE}\nRUN go build .\n",
        "FROM golang:1.22\nRUN go env -w GOMODCACHE=/x\nRUN go build .\n",
        "FROM golang:1.22\nRUN go build . && go clean -modcache\n",
        # one RUN of the tool cannot have the mount (a named user), so none gets it
        "FROM golang:1.22\nRUN go mod download\nUSER app\nRUN go build .\n",
        # a mount the author chose over another folder
        "FROM golang:1.22\nRUN --mount=type=cache,target=/gomod go build .\n",
    ],
)
def test_quiet_where_the_folder_is_not_certain(text):
    assert findings(text) == ()


@pytest.mark.parametrize(
    "text, reason",
    [
        ("FROM golang:1.22\nCOPY . .\nRUN go build -o /app .\nCMD go run .\n", "the container runs go"),
        (
            'FROM eclipse-temurin:21\nRUN ./gradlew build\nENTRYPOINT ["./gradlew", "bootRun"]\n',
            "the container runs gradle",
        ),
        ('FROM golang:1.22\nRUN go mod download\nRUN ["go", "build", "."]\n', "exec-form RUN on line 3"),
        ("FROM golang:1.22\nRUN go mod download\nRUN ./build.sh\n", "`build.sh` on line 3"),
        ("FROM eclipse-temurin:21\nRUN mvn dependency:go-offline\nRUN mvn -o package\n", "offline run"),
        (
            "FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /go /go\n",
            "COPY --from on line 4",
        ),
        (
            "FROM golang:1.22\nRUN go mod download\nCOPY vendor-cache /go/pkg/mod/cache\nRUN go build .\n",
            "COPY on line 3",
        ),
    ],
)
def test_display_only_when_something_later_needs_the_caches(text, reason):
    (finding,) = findings(text)
    assert finding.fix.applicability is Applicability.DISPLAY_ONLY
    assert reason in finding.fix.title


def test_the_tool_in_cmd_of_a_stage_that_does_not_ship_is_no_reason():
    text = "FROM golang:1.22 AS dev\nRUN go build .\nCMD go run .\nFROM scratch\nCOPY --from=dev /go/bin/app /app\n"
    (finding,) = findings(text)
    assert finding.fix.applicability is Applicability.UNSAFE
    assert "ships" not in finding.message
    (shipped,) = findings(text, **{"target-stage": "dev"})
    assert shipped.fix.applicability is Applicability.DISPLAY_ONLY


def test_a_shipped_stage_says_the_image_loses_the_caches():
    (finding,) = findings('FROM golang:1.22\nRUN go build -o /app .\nCMD ["/app"]\n')
    assert "keeps them out of the image" in finding.message
    assert finding.fix.changes.removes == ("/go/pkg/mod", "/root/.cache/go-build")
    assert finding.savings.rebuilt_steps_after_source_edit == 0


# Stages of go RUNs mixed with what may stop the fix: another user, a variable that moves the cache, a driver
STEPS = st.sampled_from(
    [
        "RUN go mod download",
        "RUN go build -o /out/app .",
        "RUN CGO_ENABLED=0 go test ./...",
        "RUN echo hi",
        "RUN make build",
        "USER 1000",
        "USER app",
        "ENV GOPATH=/gopath",
        "COPY . .",
        "RUN --mount=type=cache,target=/go/pkg/mod go vet ./...",
    ]
)


def go_runs(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("RUN") and " go " in f" {line} "]


@settings(max_examples=150, deadline=None)
@given(first=st.lists(STEPS, min_size=1, max_size=6), second=st.lists(STEPS, max_size=4), built_on_first=st.booleans())
def test_every_go_run_gets_the_mount_or_none_does(first, second, built_on_first):
    text = "FROM golang:1.22 AS one\n" + "".join(step + "\n" for step in first)
    text += ("FROM one\n" if built_on_first else "FROM golang:1.22\n") + "".join(step + "\n" for step in second)
    result = engine.fix(Source(text), [RULE], unsafe_fixes=True, options={"target": "buildkit"})
    assert not result.failures
    before_stages = [chunk.splitlines() for chunk in text.split("FROM ")[1:]]
    after_stages = [chunk.splitlines() for chunk in result.text.split("FROM ")[1:]]
    # a stage built on a stage that runs go shares its cache: both are one family, fixed together
    families = [[0, 1]] if built_on_first and go_runs(before_stages[0]) else [[0], [1]]
    for family in families:
        before = [line for index in family for line in go_runs(before_stages[index])]
        after = [line for index in family for line in go_runs(after_stages[index])]
        if before != after:
            assert all(re.search(r"--mount=type=cache,target=\S*/pkg/mod", line) for line in after), result.text
    again = engine.fix(Source(result.text), [RULE], unsafe_fixes=True, options={"target": "buildkit"})
    assert again.text == result.text


def test_the_measured_go_pair_is_the_rules_own_fix():
    """docs/verify-results.md measures tests/verify_fixtures/go-build-cache/: its after.Dockerfile must be what DF205
    writes for before.Dockerfile."""
    folder = Path(__file__).parent / "verify_fixtures" / "go-build-cache"
    before = (folder / "before.Dockerfile").read_text()
    fixed = engine.fix(Source(before), [RULE], unsafe_fixes=True, options={"target": "buildkit"}).text
    assert fixed != before
    assert fixed == (folder / "after.Dockerfile").read_text()


@pytest.mark.parametrize(
    "flag",
    [
        "--mount=type=cache,target=/go/pkg/mod/",
        "--mount=type=cache,dst=/go/pkg/mod",
        "--mount=type=cache,TARGET=/go/pkg/mod",
        "--mount='type=cache,\"target=/go/pkg/mod\"'",
        "--mount=type=cache,id=mods,destination=/go/pkg/mod",
        "--mount=type=cache,target=$MODS",
        "--mount=type=cache,target=${MODS}/",
        "--mount=type=cache,target=../go/pkg/mod",
    ],
)
def test_a_module_cache_the_run_mounts_already_is_not_mounted_again(flag):
    """However the RUN spells its own mount of the folder (as BuildKit reads it), only the build cache is added."""
    text = f"FROM golang:1.22\nARG MODS=/go/pkg/mod\nWORKDIR /src\nRUN {flag} go build .\n"
    (finding,) = findings(text)
    assert [edit.content for edit in finding.fix.edits] == ["--mount=type=cache,target=/root/.cache/go-build "]
    assert finding.fix.changes.removes == ("/root/.cache/go-build",)


@pytest.mark.parametrize(
    "flag",
    [
        # modules bound from another stage: a cache mount over them would hide them from the build
        "--mount=type=bind,from=deps,source=/go/pkg/mod,target=/go/pkg/mod",
        "--mount=target=/go/pkg/mod",
        "--mount=type=tmpfs,target=/go/pkg/mod",
        "--mount=type=tmpfs,TARGET=/root/.cache/go-build",
        "--mount=type=cache,target=$UNSET",
    ],
)
def test_another_mount_over_a_cache_folder_is_left_to_its_author(flag):
    text = f"FROM golang:1.22 AS deps\nFROM golang:1.22\nARG UNSET\nRUN {flag} go build .\n"
    assert findings(text) == ()


@pytest.mark.parametrize("unparsed", ["go mod download && if then fi", "go build ./... )"])
def test_a_family_with_a_run_whose_script_did_not_parse_gets_no_mount(unparsed):
    """The stages' shared index leaves out a RUN whose script did not parse; the rule reads it still, so that the
    stage built on it is not taken for the first to run go and mounted alone."""
    text = f"FROM golang:1.22 AS build\nRUN {unparsed}\nFROM build\nRUN go build ./...\n"
    assert not findings(text)
    assert findings(text.replace(f"RUN {unparsed}", "RUN echo ready"))
