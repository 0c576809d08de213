"""DF301: the final image on a slim variant instead of the full one."""

from __future__ import annotations

from collections.abc import Iterator

from dockerfix.knowledge.analysis import shell_runs, tool_and_arguments
from dockerfix.knowledge.baseimages import (
    MEGABYTE,
    Identified,
    Reference,
    apt_install_text,
    apt_installed,
    apt_packages_for_commands,
    commands_used,
    data,
    identify,
    image_span,
    measured_same_major,
    native_entry,
    resolved_reference,
)
from dockerfix.knowledge.dependencies import declared, install_command
from dockerfix.rewriter.document import Document, Stage
from dockerfix.rewriter.fixes import Applicability, ByteGain, Edit, Finding, Savings
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import TARGET_STAGE, Example, Rule, RuleContext
from dockerfix.rewriter.stages import target_stage

# A requirement fetched from version control (`name @ git+https://...`, `git+ssh://...`): pip runs the tool.
VCS_REQUIREMENT = LazyPattern(r"\b(git|hg|svn|bzr)\+[a-z]+:")
# A Python project that compiles native extensions when pip installs it from source.
NATIVE_BUILD_MARKERS = LazyPattern(
    r"ext_modules|\bExtension\(|cythonize|cffi_modules|scikit[-_]build|mesonpy|maturin|setuptools[-_]rust|pybind11"
)
JRE = "jre"
MAINTAINERS_PICK_A_JDK = (
    "a JDK may be chosen on purpose (a build tool that compiles, jmap or jcmd at run time, a tag that promises a JDK):"
    " the swap is the maintainers' decision"
)
# Compiling arbitrary code needs whatever headers the full image happens to ship: no package list can be inferred.
COMPILING_COMMANDS = frozenset(
    {"gcc", "cc", "g++", "c++", "make", "cmake", "autoconf", "automake", "configure", "./configure"}
)


def source_needs(texts: list[str]) -> tuple[set[str], str | None]:
    """What pip needs beyond a slim image to install from these command lines and declaration files: the version
    control tools of VCS requirements, and why it builds from source, if it may (`--no-binary`, a project that
    compiles extensions)."""
    tools = {match.group(1) for text in texts for match in VCS_REQUIREMENT.finditer(text)}
    for text in texts:
        if "--no-binary" in text:
            return tools, "`--no-binary`"
        marker = NATIVE_BUILD_MARKERS.search(text)
        if marker:
            return tools, f"a project with native extensions, `{marker.group(0)}`"
    return tools, None


class SlimBaseImage(Rule):
    """Run the final image on the slim variant of its base image.

    What it does
        For the stage the image is built from (`target-stage`, default the last one) on the full variant of an official
        image (python, node, ruby, eclipse-temurin, rust; the tag resolved through global ARG defaults), it suggests
        the slim variant (`-slim`, `-jre`) with the download saving measured between the two (compressed linux/amd64
        sizes from docker-library/repo-info, shipped in `dockerfix/data/official-image-sizes.tsv`: the tag itself
        where it was measured, else the same version on another OS release, else the newest measured version of
        the same major version; the message and the gain's basis name the tags, dates and source files measured),
        when that saves at least 50 MB (Debian's own slim tags save 20 MB and are not suggested). Without a
        measurement of both variants of the tag's major version it says nothing: Java 21's sizes are not Java 8's.
        It checks what the slim variant lacks against the stage: commands its RUNs use (git, curl, wget,
        pkg-config, ...) and dependencies known to build native code (psycopg2, mysqlclient, canvas, pg, ... read
        from the command line or the build context's requirements, pyproject.toml, Pipfile, setup.py, package.json,
        Gemfile), and the version control tools pip runs for VCS requirements (`git+https://` in a requirements
        file, pyproject.toml or on the command line). The fix switches the tag and, when something is missing, adds
        one RUN right after FROM that installs the needed Debian packages with `--no-install-recommends` and
        removes the package lists.

    Why
        The full variants carry compilers, headers, version control and hundreds of libraries for building
        software: `python:3.12` downloads 410.9 MB, `python:3.12-slim` 43.2 MB (measured 2026-08-13 and 2026-08-05).
        An image that only runs a program needs none of it, and everything shipped is pulled, stored and scanned.

    Example
        FROM python:3.12
        RUN pip install --no-cache-dir flask
        becomes
        FROM python:3.12-slim
        RUN pip install --no-cache-dir flask

    Fix safety
        Unsafe: the image changes (fewer files), and a program may use at run time something only the full image
        has. Not reported when the stage compiles code itself (gcc, make, configure: the headers it needs, such as
        the JDK's, cannot be inferred) or uses a tool the slim variant lacks that no Debian package is known for
        (`javac`, `jar` on a JRE): the stage needs the full image. Display-only, with the reason, when it installs
        dependencies whose declarations cannot be read, builds Python packages from source (`--no-binary`, a project
        with native extensions: the headers it needs cannot be told), or the tag sits in an ARG that cannot be edited
        in place. A JDK -> JRE swap is shown, never applied: maintainers keep a JDK on purpose (a build tool that
        compiles, jmap or jcmd at run time, a tag that promises a JDK).
    """

    code = "DF301"
    opt_in = True  # harmful or false positive in the blind review of sample A (docs/expert-review.md)
    name = "slim-base-image"
    summary = (
        "The final image is built on the full variant of its base image; the slim variant is several times smaller."
    )
    valid = (
        'FROM python:3.12-slim\nCMD ["python"]\n',
        "FROM python:3.12 AS build\nRUN pip wheel -w /w flask\nFROM python:3.12-slim\nCOPY --from=build /w /w\n",
        "FROM golang:1.22\nRUN go build -o /app .\n",
        "ARG TAG\nFROM python:${TAG}\n",
        "FROM debian:bookworm\nRUN echo small\n",
        "FROM python:3.12\nRUN make -C /src install\n",
        # tomcat-native compiles against the JDK's headers; javac is not in the JRE
        'FROM eclipse-temurin:21-jdk\nRUN ./configure --with-java-home="$JAVA_HOME" && make && make install\n',
        "FROM eclipse-temurin:21-jdk\nCOPY Main.java /src/\nRUN javac -d /app /src/Main.java\n"
        'CMD ["java", "-cp", "/app", "Main"]\n',
    )
    invalid = (
        Example(
            "FROM python:3.12\nRUN pip install --no-cache-dir flask\n",
            "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\n",
            unsafe=True,
        ),
        Example(
            "FROM node:22-bookworm\nRUN git clone https://example.invalid/x.git /x\n",
            "FROM node:22-bookworm-slim\nRUN apt-get update \\\n"
            "    && apt-get install -y --no-install-recommends ca-certificates git \\\n"
            "    && rm -rf /var/lib/apt/lists/*\n"
            "RUN git clone https://example.invalid/x.git /x\n",
            unsafe=True,
        ),
        Example(
            'ARG PYTHON=3.11\nFROM python:${PYTHON}\nCMD ["python"]\n',
            'ARG PYTHON=3.11\nFROM python:${PYTHON}-slim\nCMD ["python"]\n',
            unsafe=True,
        ),
        # a JDK -> JRE swap is shown, never applied
        Example('FROM eclipse-temurin:21-jdk\nCOPY app.jar /app.jar\nCMD ["java", "-jar", "/app.jar"]\n', None),
        Example(
            "FROM python:3.11\nRUN pip install git+https://example.invalid/lib.git\n",
            "FROM python:3.11-slim\nRUN apt-get update \\\n"
            "    && apt-get install -y --no-install-recommends ca-certificates git \\\n"
            "    && rm -rf /var/lib/apt/lists/*\nRUN pip install git+https://example.invalid/lib.git\n",
            unsafe=True,
        ),
        Example("FROM python:3.12\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n", None),
        Example(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
            "FROM python:3.12-slim\nRUN apt-get update \\\n"
            "    && apt-get install -y --no-install-recommends gcc libpq-dev \\\n    && rm -rf /var/lib/apt/lists/*\n"
            "WORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
            unsafe=True,
            context={"requirements.txt": "flask\npsycopg2==2.9.9\n"},
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        stage = target_stage(document, self.option(context, TARGET_STAGE.name))
        reference = resolved_reference(document, stage) if stage else None
        identified = identify(reference) if reference else None
        # identified is None whenever stage or reference is; the type checker sees it only when told
        if stage is None or reference is None or identified is None:
            return
        if identified.variant.name != "full" or identified.slim_tag() is None:
            return
        if self.needs_full_image(stage, identified):
            return
        slim = identified.slim_variant()
        new_image = f"{reference.repository}:{identified.slim_tag()}"
        full_size, slim_size = measured_same_major(reference), measured_same_major(Reference.parse(new_image))
        if full_size is None or slim_size is None:
            return
        saving = full_size.compressed_bytes - slim_size.compressed_bytes
        if saving < data()["suggestions"]["minimum_saving_mb"] * MEGABYTE:
            return
        sizes = f"measured: {full_size.describe()}, {slim_size.describe()}; {data()['sources']['sizes']}"
        message = (
            f"`{reference.text()}` is the full variant; `{new_image}` downloads {saving / MEGABYTE:,.1f} MB less "
            f"({sizes}) and lacks {', '.join(slim.lacks)}"
        )
        instruction = stage.from_instruction
        savings = Savings.of(
            ByteGain(
                saving,
                f"compressed linux/amd64 download, {full_size.describe()} minus {slim_size.describe()}"
                f" ({data()['sources']['sizes']}: {full_size.source}, {slim_size.source})",
            )
        )
        packages, reason = self.needed_packages(stage, identified, context)
        edit = None if reason else self.image_edit(document, stage, identified, reference)
        if reason is None and edit is None:
            reason = "the tag is set through an ARG that cannot be changed in place"
        if reason is not None:
            yield self.finding(
                f"{message} (not fixed automatically: {reason})",
                instruction.start,
                instruction.header_end,
                savings=savings,
            )
            return
        assert edit is not None, "without a reason image_edit ran, and a None from it set one"
        edits = [edit]
        title = f"Use {new_image} ({sizes})"
        if packages:
            newline = document.source.newline
            edits.append(Edit.insert(instruction.span[1], apt_install_text(document, packages) + newline))
            title += f" and install {', '.join(packages)} with apt"
            message += f"; this stage needs {', '.join(packages)}"
        applicability = Applicability.UNSAFE
        if identified.variant.slim == JRE:
            message += f" (not fixed automatically: {MAINTAINERS_PICK_A_JDK})"
            applicability = Applicability.DISPLAY_ONLY
        yield self.finding(
            message, instruction.start, instruction.header_end, self.fix(title, edits, applicability), savings
        )

    @staticmethod
    def needs_full_image(stage: Stage, identified: Identified) -> bool:
        """Whether the stage itself builds with what only the full variant has: it compiles (against headers the full
        image happens to ship, such as the JDK's for tomcat-native), or runs a tool the slim variant lacks that no
        Debian package adds (`javac` on a JRE)."""
        used = commands_used(stage)
        table = data()["apt_package_for_command"]
        return bool(COMPILING_COMMANDS & set(used)) or any(
            command not in table for command in set(used) & set(identified.slim_variant().missing_commands)
        )

    @staticmethod
    def needed_packages(stage: Stage, identified: Identified, context: RuleContext) -> tuple[list[str], str | None]:
        """Debian packages the stage needs on the slim variant, or why they cannot be known."""
        slim = identified.slim_variant()
        installed = apt_installed(stage)
        used = commands_used(stage)
        missing = sorted(set(used) & set(slim.missing_commands))
        table = data()["apt_package_for_command"]
        packages = set(apt_packages_for_commands(command for command in missing if table[command] not in installed))
        for run, commands in shell_runs(stage):
            for command in commands:
                install = install_command(command)
                if install is None:
                    continue
                names = set(install.named)
                texts = [" ".join(word or "" for word in tool_and_arguments(command)[1])]
                if install.reads_files:
                    declarations = declared(context.build_context, install.ecosystem)
                    if not declarations.files or declarations.unreadable:
                        return (
                            [],
                            f"the dependencies installed on line {run.start_line} cannot be read from the build "
                            "context (packages without wheels or prebuilt binaries need the full image's compilers)",
                        )
                    names |= declarations.packages
                    assert context.build_context is not None, "declared finds no files without a build context"
                    texts += [context.build_context.read_text(path) or "" for path in declarations.files]
                if install.ecosystem == "python":
                    tools, from_source = source_needs(texts)
                    if from_source:
                        return (
                            [],
                            f"the install on line {run.start_line} builds from source ({from_source}): the headers it "
                            "needs cannot be told",
                        )
                    if any(tool not in table for tool in tools):
                        return (
                            [],
                            f"the install on line {run.start_line} fetches with {', '.join(sorted(tools))}, which no "
                            "Debian package here is known for",
                        )
                    packages.update(apt_packages_for_commands(tools))
                for name in sorted(names):
                    entry = native_entry(install.ecosystem, name)
                    if entry is not None and "build_apt" not in entry:
                        return [], f"`{name}` needs more than Debian packages to install ({entry['musl']})"
                    if entry is not None:
                        packages.update(entry["build_apt"])
        return sorted(packages - installed), None

    @staticmethod
    def image_edit(document: Document, stage: Stage, identified: Identified, reference: Reference) -> Edit | None:
        """Replace the tag in the FROM; with a tag built from ARGs, only a suffix appended to it can be written. A
        digest pins the full image itself: the slim one's digest is not known here."""
        span = image_span(document, stage.from_instruction)
        if span is None or reference.digest:
            return None
        raw = document.text[span[0] : span[1]]
        new_tag = identified.slim_tag()
        assert new_tag is not None, "check asks only for a variant with a slim tag"
        if "$" not in raw:
            return Edit(span[0], span[1], f"{reference.repository}:{new_tag}")
        old_tag = reference.tag or ""
        if not old_tag or not new_tag.startswith(old_tag) or ":" not in raw.rsplit("/", 1)[-1]:
            return None
        return Edit.insert(span[1], new_tag[len(old_tag) :])
