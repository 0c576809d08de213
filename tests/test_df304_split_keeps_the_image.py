"""DF304's split must build an image that still does what the original did (issue 19, items 3 and 4).

Reproductions from the real corpus and from the issue, run end to end through the engine with every default rule
and unsafe fixes on, as `dockerfix --unsafe-fixes --write` runs them: the final stage keeps the runtime its
CMD/ENTRYPOINT runs, a stage name keeps the stage it named, and what a command after the build makes outside the
copied artifact is never left behind in the build stage, whichever rule's fix ran first."""

from __future__ import annotations

import json
from pathlib import Path

import dockerfile
import pytest
from conftest import REAL, requires_corpus
from test_corpus_fixes import context_for

from dockerfix.knowledge.baseimages import identify, resolved_reference
from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.fixes import Applicability
from dockerfix.rewriter.source import Source

RULES = Selection().rules()
# What a program name in CMD/ENTRYPOINT needs from the image: the official family that ships it
RUNTIME_FAMILIES = {"node": "node", "npm": "node", "yarn": "node", "java": "eclipse-temurin"}


def fixed(text: str, context=None) -> engine.FixResult:
    result = engine.fix(Source(text), RULES, context, unsafe_fixes=True, options={"target": "buildkit"})
    assert not result.failures, result.failures
    return result


def final_runtime_family(text: str) -> tuple[str | None, str | None]:
    """(the family the CMD/ENTRYPOINT program needs, the family of the final stage's base image)."""
    document = parse_text(text)
    stage = document.stages[-1]
    program = [i for i in stage.instructions if i.cmd in ("entrypoint", "cmd")][0]
    words = list(program.value) if program.is_json else program.arguments.split()
    reference = resolved_reference(document, stage)
    identified = identify(reference) if reference else None
    return RUNTIME_FAMILIES.get(words[0]), identified.family if identified else None


@requires_corpus
@pytest.mark.parametrize("number", ["00021", "00554", "01069", "01807", "02042"])
def test_a_split_of_an_alpine_node_image_keeps_node_in_the_final_stage(number):
    path = REAL / f"{number}.Dockerfile"
    result = fixed(path.read_text(), context_for(path))
    needed, provided = final_runtime_family(result.text)
    assert provided == "node", f"the final stage runs {needed} on {parse_text(result.text).stages[-1].base_image}"


@pytest.mark.parametrize(
    "jdk, runtime",
    [
        ("eclipse-temurin:21-jdk-alpine", "eclipse-temurin:21-jre-alpine"),  # the JRE tag the shipped sizes list
        ("eclipse-temurin:17-jdk-alpine", "eclipse-temurin:17-jdk-alpine"),  # no data shows a 17-jre-alpine tag
    ],
)
def test_a_split_of_an_alpine_jdk_runs_the_jar_on_a_jre_the_data_knows(jdk, runtime):
    text = f'FROM {jdk}\nWORKDIR /src\nCOPY . .\nRUN ./mvnw -B package\nCMD ["java", "-jar", "/src/target/app.jar"]\n'
    result = fixed(text)
    assert [f.code for f in result.applied if f.code == "DF304"] == ["DF304"]
    assert parse_text(result.text).stages[-1].base_image == runtime
    assert final_runtime_family(result.text) == ("eclipse-temurin", "eclipse-temurin")


def stage_names(text: str) -> list[tuple[str, str]]:
    """(name, base image) of every named stage, as BuildKit reads them."""
    return [
        (node.value[2].lower(), node.value[0])
        for node in dockerfile.parse_string(text)
        if node.cmd == "FROM" and len(node.value) == 3
    ]


@requires_corpus
def test_a_split_keeps_every_stage_name_on_the_stage_it_named():
    """00245: `FROM node:13.12.0-alpine as build` is the final stage; `docker build --target build` must not build
    a new stage that took its name. The name stays on its FROM line in the proposal, and as `--target build` would
    then stop before the runtime stage, the split is only shown."""
    path = REAL / "00245.Dockerfile"
    original = path.read_text()
    result = fixed(original, context_for(path))
    before, after = stage_names(original), stage_names(result.text)
    assert set(before) <= set(after), f"{before} became {after}"
    assert len({name for name, _ in after}) == len(after), f"a stage name is used twice: {after}"
    [finding] = [f for f in result.remaining if f.code == "DF304"]
    assert finding.fix is not None and finding.fix.applicability.name == "DISPLAY_ONLY"
    proposal = finding.fix.edits[0].content
    assert stage_names(proposal) == [("build", "node:13.12.0-alpine")]


def test_the_build_stage_takes_no_name_already_in_the_file_in_any_case():
    """BuildKit compares stage names case-insensitively: `AS BUILD` and `AS build` are one name (an error)."""
    text = (
        "FROM alpine:3.21 AS BUILD\nRUN echo tools > /tools\nFROM alpine:3.21 AS Builder\nRUN echo more > /more\n"
        "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nCOPY --from=compile /x /x\n"
        "RUN CGO_ENABLED=0 go build -o /out/app .\n"
        'CMD ["/out/app"]\n'
    )
    result = fixed(text)
    assert [f.code for f in result.applied if f.code == "DF304"] == ["DF304"]
    after = stage_names(result.text)
    assert after[:2] == [("build", "alpine:3.21"), ("builder", "alpine:3.21")]
    assert after[2:] == [("build-stage", "golang:1.22")]  # `compile` is the image a COPY --from names
    assert len({name for name, _ in after}) == len(after), f"a stage name is used twice: {after}"


# What a command after the build makes outside the artifact: a file written by a redirect, a tool installed globally
AFTER_THE_BUILD = {
    "go-generated-config": (
        "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/app .\n"
        'RUN go run ./gen > /etc/app.conf\nCMD ["/out/app"]\n'
    ),
    "go-generated-config-one-run": (
        "FROM golang:1.22\nWORKDIR /src\nCOPY . .\n"
        'RUN CGO_ENABLED=0 go build -o /out/app . && go run ./gen > /etc/app.conf\nCMD ["/out/app"]\n'
    ),
    "go-echo-to-etc": (
        "FROM golang:1.22\nWORKDIR /src\nCOPY . .\n"
        'RUN CGO_ENABLED=0 go build -o /out/app . && echo "mode=prod" > /etc/app.conf\nCMD ["/out/app"]\n'
    ),
    "node-global-tool": (
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm run build\nRUN npm install -g serve\n"
        'CMD ["serve", "-s", "dist"]\n'
    ),
}


@pytest.mark.parametrize("text", AFTER_THE_BUILD.values(), ids=AFTER_THE_BUILD.keys())
def test_what_runs_after_the_build_keeps_the_split_from_being_written_in_any_pass(text):
    result = fixed(text)
    assert not [f for f in result.applied if f.code == "DF304"]
    assert len(parse_text(result.text).stages) == 1, result.text
    remaining = [f for f in (*result.findings, *result.remaining) if f.code == "DF304"]
    assert remaining and all(f.fix and f.fix.applicability.name == "DISPLAY_ONLY" for f in remaining)


@requires_corpus
def test_a_global_install_merged_into_the_build_run_keeps_the_split_display_only():
    """00021: DF101 merges `RUN npm install -g serve` into the `npm run build` RUN; the split must not be written
    in the next pass either (CMD runs `serve`, which would stay behind in the build stage)."""
    path = REAL / "00021.Dockerfile"
    result = fixed(path.read_text(), context_for(path))
    assert not [f for f in result.applied if f.code == "DF304"]
    assert len(parse_text(result.text).stages) == 1, result.text


def test_a_tidy_build_run_still_splits():
    """Commands after the build that only touch the artifact or remove files do not stop the split."""
    text = (
        "FROM golang:1.22\nWORKDIR /src\nCOPY . .\n"
        "RUN CGO_ENABLED=0 go build -o /tmp/app . && mv /tmp/app /out/app && chmod 0755 /out/app && rm -rf "
        "/root/.cache\n"
        'CMD ["/out/app"]\n'
    )
    result = fixed(text)
    assert [f.code for f in result.applied if f.code == "DF304"] == ["DF304"]
    assert parse_text(result.text).stages[-1].base_image == "scratch"


@pytest.mark.parametrize(
    "build, jre",
    [
        ("maven:3.9-eclipse-temurin-21", "eclipse-temurin:21-jre"),  # listed in the shipped measurements
        ("maven:3.9-eclipse-temurin-11", None),  # no data shows eclipse-temurin:11-jre: the split is only shown
    ],
)
def test_a_java_split_writes_only_a_jre_tag_the_data_shows(build, jre):
    text = f'FROM {build}\nWORKDIR /src\nCOPY . .\nRUN mvn -B package\nCMD ["java", "-jar", "/src/target/app.jar"]\n'
    result = fixed(text)
    if jre is None:
        assert not [f for f in result.applied if f.code == "DF304"]
        [finding] = [f for f in result.remaining if f.code == "DF304"]
        assert finding.fix is not None
        assert finding.fix.applicability.name == "DISPLAY_ONLY" and "eclipse-temurin:11-jre" in finding.message
    else:
        assert [f.code for f in result.applied if f.code == "DF304"] == ["DF304"]
        assert parse_text(result.text).stages[-1].base_image == jre


def test_a_node_split_is_only_shown_when_the_command_runs_a_development_dependency(tmp_path):
    """../shared/corpus/projects/00160 (React on Vite): CMD `npm run preview` runs the script `vite preview`, and
    vite is a development dependency: the split's `npm prune --omit=dev` removes it, and the runtime stage would stop
    at `vite: not found` (the build itself succeeds, so building it does not tell)."""
    project = Path("../shared/corpus/projects/00160")
    text = (project / "Dockerfile").read_text()
    assert 'CMD ["npm", "run", "preview", "--", "--host"]' in text

    def split(context: BuildContext):
        (finding,) = [finding for finding in fixed(text, context).findings if finding.code == "DF304"]
        assert finding.fix is not None
        return finding.fix.applicability, finding.message

    applicability, message = split(BuildContext.from_directory(project))
    assert applicability == Applicability.DISPLAY_ONLY and "`vite`" in message
    # the same Dockerfile whose script runs node on what the build wrote: production dependencies are enough
    manifest = json.loads((project / "package.json").read_text())
    manifest["scripts"]["preview"] = "NODE_ENV=production node dist/server.js"
    (tmp_path / "package.json").write_text(json.dumps(manifest))
    assert split(BuildContext.from_directory(tmp_path))[0] == Applicability.UNSAFE
    # a script dockerfix cannot read (no package.json in the context): only shown
    (tmp_path / "package.json").unlink()
    applicability, message = split(BuildContext.from_directory(tmp_path))
    assert applicability == Applicability.DISPLAY_ONLY and "cannot read package.json" in message
