"""DF301: the final image on a slim variant instead of the full one."""

from __future__ import annotations

from collections.abc import Iterator

from dockerfix.knowledge.analysis import shell_runs
from dockerfix.knowledge.baseimages import (
    MEGABYTE,
    Reference,
    Variant,
    apt_install_text,
    apt_installed,
    apt_packages_for_commands,
    commands_used,
    data,
    identify,
    image_span,
    measured,
    native_entry,
    resolved_reference,
)
from dockerfix.knowledge.dependencies import declared, install_command
from dockerfix.rewriter.document import Document, Stage
from dockerfix.rewriter.fixes import Applicability, Edit, Finding, Savings
from dockerfix.rewriter.rule import TARGET_STAGE, Example, Rule, RuleContext
from dockerfix.rewriter.stages import target_stage

# Compiling arbitrary code needs whatever headers the full image happens to ship: no package list can be inferred.
COMPILING_COMMANDS = frozenset(
    {"gcc", "cc", "g++", "c++", "make", "cmake", "autoconf", "automake", "configure", "./configure"}
)


class SlimBaseImage(Rule):
    """Run the final image on the slim variant of its base image.

    What it does
        For the stage the image is built from (`target-stage`, default the last one) on the full variant of an official
        image (python, node, ruby, eclipse-temurin, rust; the tag resolved through global ARG defaults), it suggests
        the slim variant (`-slim`, `-jre`) with the download saving measured between the two (compressed linux/amd64
        sizes from docker-library/repo-info, shipped in `dockerfix/data/official-image-sizes.tsv`: the tag itself
        where it was measured, else the same version on another OS release, else the newest measured version; the
        message names the tags and dates measured), when that saves at least 50 MB (Debian's own slim tags save
        20 MB and are not suggested). Without a measurement of both variants it says nothing.
        It checks what the slim variant lacks against the stage: commands its RUNs use (git, curl, wget,
        pkg-config, ...) and dependencies known to build native code (psycopg2, mysqlclient, canvas, pg, ... read
        from the command line or the build context's requirements, pyproject.toml, Pipfile, setup.py, package.json,
        Gemfile). The fix switches the tag and, when something is missing, adds one RUN right after FROM that
        installs the needed Debian packages with `--no-install-recommends` and removes the package lists.

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
        dependencies whose declarations cannot be read or the tag sits in an ARG that cannot be edited in place.
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
            "FROM node:20-bookworm\nRUN git clone https://example.invalid/x.git /x\n",
            "FROM node:20-bookworm-slim\nRUN apt-get update \\\n"
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
        Example(
            'FROM eclipse-temurin:21-jdk\nCOPY app.jar /app.jar\nCMD ["java", "-jar", "/app.jar"]\n',
            'FROM eclipse-temurin:21-jre\nCOPY app.jar /app.jar\nCMD ["java", "-jar", "/app.jar"]\n',
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
        if stage is None or reference is None or identified is None or identified.variant.name != "full":
            return
        slim_tag, slim = identified.slim_tag(), identified.slim_variant()
        if slim_tag is None or slim is None:  # a variant with a slim tag has a slim variant (base_images.toml)
            return
        if self.needs_full_image(stage, slim):
            return
        new_image = f"{reference.repository}:{slim_tag}"
        full_size, slim_size = measured(reference), measured(Reference.parse(new_image))
        if full_size is None or slim_size is None:
            return
        saving = full_size.compressed_bytes - slim_size.compressed_bytes
        if saving < data()["suggestions"]["minimum_saving_mb"] * MEGABYTE:
            return
        sizes = f"measured: {full_size.describe()}, {slim_size.describe()}; {data()['sources']['sizes']}"
        message = (
            f"`{reference.text()}` is the full variant; `{new_image}` downloads {saving / MEGABYTE:,.1f} MB less "
            f"({sizes}) "
            f"and lacks {', '.join(slim.lacks)}"
        )
        instruction = stage.from_instruction
        packages, reason = self.needed_packages(stage, slim, context)
        edit = None if reason else self.image_edit(document, stage, slim_tag, reference)
        if reason is not None or edit is None:
            yield self.finding(
                f"{message} (not fixed automatically: "
                f"{reason or 'the tag is set through an ARG that cannot be changed in place'})",
                instruction.start,
                instruction.header_end,
                savings=Savings(bytes=saving),
            )
            return
        edits = [edit]
        title = f"Use {new_image} ({sizes})"
        if packages:
            newline = document.source.newline
            edits.append(Edit.insert(instruction.span[1], apt_install_text(document, packages) + newline))
            title += f" and install {', '.join(packages)} with apt"
            message += f"; this stage needs {', '.join(packages)}"
        yield self.finding(
            message,
            instruction.start,
            instruction.header_end,
            self.fix(title, edits, Applicability.UNSAFE),
            Savings(bytes=saving),
        )

    @staticmethod
    @staticmethod
    def needs_full_image(stage: Stage, slim: Variant) -> bool:
        """Whether the stage itself builds with what only the full variant has: it compiles (against headers the full
        image happens to ship, such as the JDK's for tomcat-native), or runs a tool the slim variant lacks that no
        Debian package adds (`javac` on a JRE)."""
        used = commands_used(stage)
        table = data()["apt_package_for_command"]
        return bool(COMPILING_COMMANDS & set(used)) or any(
            command not in table for command in set(used) & set(slim.missing_commands)
        )

    @staticmethod
    def needed_packages(stage: Stage, slim: Variant, context: RuleContext) -> tuple[list[str], str | None]:
        """Debian packages the stage needs on the slim variant, or why they cannot be known."""
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
                if install.reads_files:
                    declarations = declared(context.build_context, install.ecosystem)
                    if not declarations.files or declarations.unreadable:
                        return (
                            [],
                            f"the dependencies installed on line {run.start_line} cannot be read from the build "
                            "context (packages without wheels or prebuilt binaries need the full image's compilers)",
                        )
                    names |= declarations.packages
                for name in sorted(names):
                    entry = native_entry(install.ecosystem, name)
                    if entry is not None and "build_apt" not in entry:
                        return [], f"`{name}` needs more than Debian packages to install ({entry['musl']})"
                    if entry is not None:
                        packages.update(entry["build_apt"])
        return sorted(packages - installed), None

    @staticmethod
    def image_edit(document: Document, stage: Stage, new_tag: str, reference: Reference) -> Edit | None:
        """Replace the tag in the FROM; with a tag built from ARGs, only a suffix appended to it can be written. A
        digest pins the full image itself: the slim one's digest is not known here."""
        span = image_span(document, stage.from_instruction)
        if span is None or reference.digest:
            return None
        raw = document.text[span[0] : span[1]]
        if "$" not in raw:
            return Edit(span[0], span[1], f"{reference.repository}:{new_tag}")
        old_tag = reference.tag or ""
        if not old_tag or not new_tag.startswith(old_tag) or ":" not in raw.rsplit("/", 1)[-1]:
            return None
        return Edit.insert(span[1], new_tag[len(old_tag) :])
