"""DF304: split a final stage that builds and then runs into a build stage and a runtime stage."""

from __future__ import annotations

from collections.abc import Iterator

from dockerfix.knowledge.baseimages import Measurement, Reference, identify, measured, resolved_reference
from dockerfix.knowledge.multistage import plan, promises
from dockerfix.rewriter.document import Document, parse_text
from dockerfix.rewriter.fixes import Applicability, ByteGain, ContentChange, Edit, Finding, Gain, Savings, Unknown
from dockerfix.rewriter.rule import TARGET_STAGE, Example, Rule, RuleContext
from dockerfix.rewriter.source import SourceError
from dockerfix.rewriter.stages import target_stage

# What a split knowingly changes, measured with `dockerfix verify` on tests/verify_fixtures/python-split: the final
# image starts from another image, so any path of the original may be gone (that is the point: the toolchain), the
# package managers' records differ, and where the runtime image is of another repository (golang to scratch, maven
# to a JRE) its ENV replaces the build image's: any variable may differ (dockerfix cannot read them without a
# registry). Variants of one repository (python:3.11 and python:3.11-slim) declare the same ENV.
PACKAGE_RECORDS = (
    "/var/lib/dpkg",
    "/var/lib/apt/extended_states",
    "/var/cache/debconf",
    "/var/log",
    "/etc/ld.so.cache",
)


def content_change(ecosystem: str, values: dict) -> ContentChange:
    alters: tuple[str, ...] = PACKAGE_RECORDS
    repository = values["build_image"].split("@")[0].rsplit(":", 1)[0]
    same_repository = values["runtime_image"].split("@")[0].rsplit(":", 1)[0] == repository
    environment: tuple[str, ...] = () if same_repository else ("*",)
    if ecosystem == "python":  # pip installs into the virtual environment, which the template puts first in PATH
        alters += (values["venv"],)
        environment = environment or ("PATH",)
    elif ecosystem == "node":  # development dependencies are pruned
        alters += (f"{values['artifact']}/node_modules",)
    return ContentChange(removes=("/",), alters=alters, environment=environment)


def keeps_promises(before: Document, after_text: str, added_env: tuple[str, ...]) -> bool:
    """The proposal's final stage declares everything the original's did (plus the template's own ENV keys)."""
    try:
        after = parse_text(after_text)
    except SourceError:
        return False
    old, new = promises(before), promises(after)
    new_env = {key: value for key, value in new["env"].items() if key not in added_env or key in old["env"]}
    return {**old, "env": old["env"]} == {**new, "env": new_env}


def _measured_bytes(image: str) -> Measurement | int | None:
    """The measurement of exactly this tag (0 bytes for `scratch`); None when that tag was not measured: another
    version's size is not this one's."""
    if image == "scratch":
        return 0
    reference = Reference.parse(image)
    found = measured(reference)
    exact = found is not None and found.image == reference.official_name and found.tag == (reference.tag or "latest")
    return found if exact else None


def base_images_gain(build_image: str, runtime_image: str) -> Gain:
    """What leaving the build image for the runtime image saves, from the shipped measurements of both tags."""
    sizes = {image: _measured_bytes(image) for image in (build_image, runtime_image)}
    missing = [image for image, size in sizes.items() if size is None]
    if missing:
        return Unknown(f"`{'`, `'.join(missing)}` not measured (dockerfix/data/official-image-sizes.tsv)")
    known_sizes = [size for size in sizes.values() if size is not None]
    build, runtime = (size if isinstance(size, int) else size.compressed_bytes for size in known_sizes)
    dates = ", ".join(sorted({size.date for size in known_sizes if not isinstance(size, int)}))
    return ByteGain(
        max(build - runtime, 0),
        f"compressed amd64 sizes of `{build_image}` and `{runtime_image}`, official-image-sizes.tsv of {dates};"
        " the build's own tools, caches and sources leave too",
        at_least=True,
    )


class MultiStageSplit(Rule):
    """Build in one stage, run in another.

    What it does
        Finds a final stage that installs a toolchain, builds, and runs the result: `go build`, `npm/yarn/pnpm run
        build`, `mvn package` / `gradle build`, `cargo build --release`, or `pip install` after installing a
        compiler (not when `target-stage` names an earlier stage: the split rewrites the file to its end). It proposes
        two stages, written per ecosystem: the original steps in a build stage, then a runtime stage
        that copies only the artifact the CMD/ENTRYPOINT uses: a Go binary on `scratch` (static, with CA certificates)
        or Debian slim, a Node app with production dependencies only (pruned in the build stage) on `node:*-slim`, a
        Python virtual environment and the app on `python:*-slim`, a jar on an Eclipse Temurin JRE, a Rust binary on
        Debian slim. On an Alpine image whose runtime runs the program (node, python, a JDK), the runtime stage stays on
        that image, or on the family's `-jre-alpine` tag where the shipped measurements list it; a Go or Rust binary
        goes to Alpine. The runtime stage keeps everything the image declares (CMD, ENTRYPOINT, USER, WORKDIR, ENV,
        EXPOSE, LABEL, VOLUME, HEALTHCHECK, STOPSIGNAL, SHELL), in order, and reinstalls the non-build apt packages the
        stage installed. A stage name stays on the FROM line it names; a new build stage takes a name nothing in the
        file uses.

    Why
        Compilers, SDKs, headers, package caches and sources are needed to build, not to run. In one stage they all
        ship: a Go service on `golang:1.25` downloads 305.3 MB before its own code (measured 2026-07-14, see
        `dockerfix/data/official-image-sizes.tsv`); the same binary on `scratch` is the
        binary.

    Example
        FROM golang:1.22
        WORKDIR /src
        COPY . .
        RUN CGO_ENABLED=0 go build -o /out/app .
        CMD ["/out/app"]
        becomes
        FROM golang:1.22 AS build
        WORKDIR /src
        COPY . .
        RUN CGO_ENABLED=0 go build -o /out/app .

        FROM scratch
        WORKDIR /src
        COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
        COPY --from=build /out/app /out/app
        CMD ["/out/app"]

    Gain
        The difference of the compressed linux/amd64 sizes of the build image and the runtime image, both tags
        measured exactly (`dockerfix/data/official-image-sizes.tsv`; `scratch` is 0 bytes), as a lower bound
        (the build's own tools, caches and sources leave too); unknown when a tag was not measured (another
        version's size is not used).

    Fix safety
        Unsafe at best: the artifact list is inferred, and files the program reads at run time (templates, static
        assets, configuration written outside the artifact) must be added by hand. Display-only, with the proposed
        Dockerfile in the message, when the inference is incomplete: the artifact is not a visible build output,
        a RUN follows the build, the build RUN goes on after the build with commands that may write outside the
        artifact (`npm install -g serve`, `go run ./gen > /etc/app.conf`), a Node program is found through PATH,
        header packages or apk packages were installed whose run-time needs are unknown, or the stage is named
        (`docker build --target` on that name would stop before the runtime stage).
    """

    code = "DF304"
    name = "multi-stage-split"
    summary = "The final stage builds and runs: compilers and sources ship in the image."
    valid = (
        'FROM golang:1.22 AS build\nRUN go build -o /app .\nFROM scratch\nCOPY --from=build /app /app\nCMD ["/app"]\n',
        'FROM python:3.12-slim\nWORKDIR /app\nRUN pip install flask\nCMD ["flask", "run"]\n',
        'FROM node:20\nWORKDIR /app\nRUN npm ci\nCMD ["node", "index.js"]\n',
    )
    invalid = (
        Example(
            'FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/app .\nCMD ["/out/app"]\n',
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/app .\n\n"
            "FROM scratch\nWORKDIR /src\nCOPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/\n"
            'COPY --from=build /out/app /out/app\nCMD ["/out/app"]\n',
            unsafe=True,
        ),
        Example('FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build .\nCMD ["./server"]\n', None),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        stage = target_stage(document, self.option(context, TARGET_STAGE.name))
        if stage is None or stage is not document.stages[-1]:
            return  # no stage, or the split would rewrite the file from the target to its end
        reference = resolved_reference(document, stage) if stage else None
        identified = identify(reference) if reference else None
        if identified is None or identified.variant.name == "slim":
            return
        split = plan(document, identified, context.build_context)
        if split is None:
            return
        instruction = stage.from_instruction
        proposal = split.render(document.source.newline)
        if not document.text.endswith(("\n", "\r")):
            proposal = proposal.rstrip("\r\n")
        if not keeps_promises(document, document.text[: instruction.start] + proposal, split.added_env):
            return
        runtime_image = split.values["runtime_image"]
        same_image = runtime_image == split.values["build_image"]
        # an Alpine image whose runtime is the toolchain (node, a JDK without a proven JRE tag) stays the base
        left_out = (
            f"what the build makes outside `{split.values['artifact']}`" if same_image else "the toolchain and sources"
        )
        message = (
            f"this stage builds with {split.ecosystem} tools and runs the result: a build stage and a runtime stage on "
            f"`{runtime_image}` leave {left_out} out of the image"
        )
        edit = Edit(instruction.start, len(document.text), proposal)
        savings = Savings.of(
            Unknown(f"what the build leaves outside `{split.values['artifact']}` was not measured")
            if same_image
            else base_images_gain(split.values["build_image"], runtime_image)
        )
        if split.incomplete:
            message += f" (not fixed automatically: {'; '.join(split.incomplete)}). Proposed:\n{proposal}"
            yield self.finding(
                message,
                instruction.start,
                instruction.header_end,
                self.fix("Split into build and runtime stages", [edit], Applicability.DISPLAY_ONLY),
                savings,
            )
            return
        message += "; files the program reads at run time outside the copied artifact must be added by hand"
        yield self.finding(
            message,
            instruction.start,
            instruction.header_end,
            self.fix(
                f"Split into build and runtime stages ({split.ecosystem}; leaves {left_out} out of the image)",
                [edit],
                Applicability.UNSAFE,
                content_change(split.ecosystem, split.values),
            ),
            savings,
        )
