"""What the base-image rules (DF3xx) know about images: the shipped data file of official image families, the measured
sizes of official tags, image references and their tags resolved through global ARG defaults, which variant a tag
names, and the facts about a stage they share (commands its RUNs use, apt packages it installs, the text of an apt
install to add)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Any

import msgspec
from msgspec import Struct

from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Gain, Unknown
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.stages import base_stages, expand_global_args, parent_stages

from . import DATA
from .analysis import Invocation, shell_runs, tool_and_arguments
from .runstyle import Style

MEGABYTE = 1_000_000
_VERSION = LazyPattern(r"^\d+(?:[._]\d+)*")


@lru_cache(maxsize=1)
def data() -> Mapping[str, Any]:
    """The tables of ``data/base_images.toml``, shipped as JSON by ``scripts/base_image_data.py``."""
    return msgspec.json.decode(DATA.joinpath("base_images.json").read_bytes())


class Measurement(Struct, frozen=True):
    """One row of ``dockerfix/data/official-image-sizes.tsv``: an official tag's compressed linux/amd64 size."""

    image: str
    tag: str
    compressed_bytes: int
    date: str  # the newest layer's date: when this build of the tag was made
    source: str  # repo-info path@commit the row was read from

    @property
    def reference(self) -> str:
        return f"{self.image}:{self.tag}"

    def describe(self) -> str:
        return f"{self.reference} {self.compressed_bytes / MEGABYTE:,.1f} MB on {self.date}"


@lru_cache(maxsize=1)
def measurements() -> tuple[Measurement, ...]:
    """The measured sizes shipped with dockerfix, in file order."""
    text = DATA.joinpath("official-image-sizes.tsv").read_text(encoding="utf-8")
    return tuple(
        Measurement(
            row["image"], row["tag"], int(row["compressed_bytes_amd64"]), row["newest_layer_date"], row["source"]
        )
        for row in csv.DictReader(io.StringIO(text), delimiter="\t")
    )


class Reference(Struct, frozen=True):
    """An image reference split as the registry reads it: ``[host/]repository[:tag][@digest]``."""

    repository: str
    tag: str | None
    digest: str | None
    has_host: bool

    @classmethod
    def parse(cls, text: str) -> Reference:
        name, _, digest = text.partition("@")
        slash = name.rfind("/")
        colon = name.rfind(":")
        tag = None
        if colon > slash:
            name, tag = name[:colon], name[colon + 1 :]
        first = name.split("/", 1)[0]
        has_host = "/" in name and ("." in first or ":" in first or first == "localhost")
        return cls(name, tag, digest or None, has_host)

    @property
    def official_name(self) -> str | None:
        """The official image's name (`python` for `python` or `library/python`), None for any other image."""
        if self.has_host:
            return None
        name = self.repository.lower()
        if name.startswith("library/"):
            name = name[len("library/") :]
        return None if "/" in name else name

    def text(self) -> str:
        return (
            self.repository
            + (f":{self.tag}" if self.tag is not None else "")
            + (f"@{self.digest}" if self.digest else "")
        )


class Variant(Struct, frozen=True):
    family: str
    name: str
    libc: str
    lacks: tuple[str, ...]
    missing_commands: tuple[str, ...]
    slim: str | None
    slim_release: str | None
    note: str | None


class Identified(Struct, frozen=True):
    """A tag of an official family read as version + variant (+ the OS release the tag names, if any)."""

    family: str
    variant: Variant
    version: str
    release: str | None
    flavour: str | None = None  # a variant-independent part of the tag (php's cli, fpm, zts)

    def tag_for(self, suffix: str) -> str:
        """This tag's version with another variant suffix."""
        version = "" if self.version == "latest" else self.version
        return "-".join(part for part in (version, suffix) if part)

    def slim_tag(self) -> str | None:
        if self.variant.slim is None:
            return None
        if not self.release:
            return self.tag_for(self.variant.slim)
        # base_images.toml gives a release form to every variant with a slim one whose tags name a release
        assert self.variant.slim_release is not None, f"{self.variant.family} {self.variant.name}: no slim_release"
        return self.tag_for(self.variant.slim_release.format(release=self.release))

    def slim_variant(self) -> Variant:
        """The family's slim variant, asked only of an image whose variant has one (``slim_tag`` is not None)."""
        slim = variants(self.family).get("slim") if self.variant.slim else None
        # base_images.toml gives a slim variant to every family with a variant that names one
        assert slim is not None, f"{self.variant.family} {self.variant.name}: no slim variant"
        return slim


def family_of(reference: Reference) -> str | None:
    name = reference.official_name
    return None if name is None else _family_by_repository().get(name)


@cache
def _family_by_repository() -> dict[str, str]:
    """Each official repository's family (the first that lists it): every stage of every check asks."""
    found: dict[str, str] = {}
    for family, entry in data()["families"].items():
        for repository in entry["repositories"]:
            found.setdefault(repository, family)
    return found


@cache
def variants(family: str) -> dict[str, Variant]:
    entry = data()["families"][family]
    return {
        name: Variant(
            family,
            name,
            fields.get("libc", ""),
            tuple(fields.get("lacks", ())),
            tuple(fields.get("missing_commands", ())),
            fields.get("slim"),
            fields.get("slim_release"),
            fields.get("note"),
        )
        for name, fields in entry["variants"].items()
    }


@cache
def _patterns(family: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (name, re.compile(fields["pattern"]))
        for name, fields in data()["families"][family]["variants"].items()
        if "pattern" in fields
    )


@lru_cache(maxsize=1024)
def identify(reference: Reference) -> Identified | None:
    """Family, variant and version of an official image's tag (a missing tag is `latest`); None when unknown. Read
    once per reference (its value: a few hundred images over a corpus, asked by several rules of every check)."""
    family = family_of(reference)
    if family is None:
        return None
    tag = reference.tag or "latest"
    aliases = data()["families"][family].get("version_aliases", ())
    version_match = _VERSION.match(tag)
    alias = next((a for a in aliases if tag == a or tag.startswith(a + "-")), None)
    version = version_match.group(0) if version_match else (alias or "")
    splits = [(version, tag[len(version) :].lstrip("-"))] if version else []
    splits.append(("", tag))
    for candidate_version, suffix in splits:
        for name, pattern in _patterns(family):
            match = pattern.match(suffix)
            if match:
                groups = match.groupdict()
                return Identified(
                    family,
                    variants(family)[name],
                    candidate_version,
                    groups.get("release") or None,
                    groups.get("flavour"),
                )
    return None


def from_registry(reference: Reference) -> bool:
    """Whether the image certainly comes from a registry: its name has a registry host or a namespace, or it is an
    official image the data file knows. Any other name may be an image the project builds itself."""
    if reference.has_host or "/" in reference.repository:
        return True
    return family_of(reference) is not None or reference.official_name in data()["official_images"]["names"]


# Files that may build and tag an image: make, shell and CI scripts, compose and bake files, Dockerfiles, READMEs.
_BUILD_FILE = LazyPattern(
    r"(^|/)(Makefile|GNUmakefile|Jenkinsfile|Taskfile\.ya?ml|[^/]*\.(mk|sh|bash|ya?ml|hcl|json|md)|[^/]*Dockerfile[^/]*)$"
)
_MOST_BUILD_FILES = 500


def built_in_context(repository: str, context: BuildContext | None) -> str | None:
    """A file of the build context that builds an image named ``repository``: a `-t`/`--tag` naming it, a `docker
    tag` to it, a compose service with a `build` and that `image`, a bake target's `tags`. None when no file shows it
    (or the context has only names)."""
    if context is None or context.root is None:
        return None
    built = context.once(BuiltImages, lambda: BuiltImages.read(context))
    return context.once(("built_in_context", repository), lambda: built.file_building(repository))


# After the name of an image a file builds: a tag, a quote, a list's or call's end, a blank or the line's end
_NAME_END = r"(?=[:\s\"'\]),]|$)"
# Where such a name starts (lookaheads: every start is found, also one inside an earlier match)
_TAGGED = LazyPattern(r"(?=((?:\s-t|--tag)(?:\s+|=)[\"']?|\bdocker\s+(?:image\s+)?tag\s+\S+\s+[\"']?))")
_COMPOSED = LazyPattern(r"(?=(^\s*image:\s*[\"']?))", re.MULTILINE)
_BAKE_TAGS = LazyPattern(r"(?=\btags\s*=\s*\[([^\]]*\]?))")
# An image name is at most 255 characters (Docker's limit): what follows a name's start is kept this far
_MOST_NAME_TEXT = 1024


class BuiltImages(Struct, frozen=True):
    """Where the context's build files may name an image they build, read once per context (a run checking many
    Dockerfiles of one context asks about each one's base images): per file, the text after each tag option,
    `docker tag SOURCE` and (in a compose file with a `build:`) `image:`, and each bake `tags = [...]` list."""

    files: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]

    @classmethod
    def read(cls, context: BuildContext) -> BuiltImages:
        files = []
        for path in [path for path in context.files() if _BUILD_FILE.search(path)][:_MOST_BUILD_FILES]:
            text = context.read_text(path, limit=200_000)
            if text is None:
                continue
            starts = [match.end(1) for match in _TAGGED.finditer(text)]
            if re.search(r"^\s*build:", text, re.MULTILINE):
                starts += [match.end(1) for match in _COMPOSED.finditer(text)]
            names = tuple(_line_from(text, start) for start in starts)
            lists = tuple(match.group(1) for match in _BAKE_TAGS.finditer(text))
            if names or lists:
                files.append((path, names, lists))
        return cls(tuple(files))

    def file_building(self, repository: str) -> str | None:
        name = re.escape(repository)
        named = re.compile(name + _NAME_END, re.MULTILINE)
        listed = re.compile(rf"[\"']{name}{_NAME_END}", re.MULTILINE)
        for path, names, lists in self.files:
            if any(named.match(text) for text in names) or any(listed.search(text) for text in lists):
                return path
        return None


def _line_from(text: str, start: int) -> str:
    """The rest of the line from ``start``, its line end kept (where a name may end), at most ``_MOST_NAME_TEXT``."""
    end = text.find("\n", start, start + _MOST_NAME_TEXT)
    return text[start : end + 1] if end >= 0 else text[start : start + _MOST_NAME_TEXT]


def stage_names(document: Document) -> set[str]:
    return {stage.name for stage in document.stages if stage.name}


def resolved_reference(document: Document, stage: Stage) -> Reference | None:
    """The base image of a stage after global ARG expansion; None for `scratch`, an earlier stage or an unknown ARG.
    Only earlier stages count, as BuildKit resolves them: `FROM golang AS golang` is the image. Kept with the
    document: several rules ask it of every stage in every check."""
    return document.facts(_resolved_reference, stage)


def _resolved_reference(document: Document, stage: Stage) -> Reference | None:
    text = expand_global_args(stage.base_image, document)
    if text is None or text.lower() == "scratch" or parent_stages(document, stage):
        return None
    return Reference.parse(text)


def image_span(document: Document, from_instruction: Instruction) -> tuple[int, int] | None:
    """Source span of the image word of a FROM, when it is written in one piece on the FROM's first line."""
    start = from_instruction.arguments_start
    image = from_instruction.value[0] if from_instruction.value else ""
    if not image or document.text[start : start + len(image)] != image:
        return None
    return start, start + len(image)


def commands_used(stage: Stage, after: Instruction | None = None) -> dict[str, Instruction]:
    """Program names the stage's RUNs run (first RUN for each), optionally only after ``after``."""
    used: dict[str, Instruction] = {}
    for run, commands in shell_runs(stage):
        if after is not None and run.index <= after.index:
            continue
        for command in commands:
            name, _ = tool_and_arguments(command)
            if name is not None:
                used.setdefault(name, run)
    return used


def instruction_commands(instruction: Instruction) -> list[tuple[str | None, list[str | None]]]:
    """The commands a RUN, CMD or ENTRYPOINT runs, as (program, arguments); an exec form's program as written."""
    if instruction.is_json:
        value = instruction.value
        return [(value[0], list(value[1:]))] if value else []
    script = instruction.shell
    if script is None or script.has_error:
        return []
    return [tool_and_arguments(command) for command in script.simple_commands()]


def apt_installed(stage: Stage) -> set[str]:
    """Packages the stage installs with `apt-get install` / `apt install` (literal names only)."""
    return installed_with(stage, ("apt-get", "apt"), "install")


def installed_with(stage: Stage, tools: tuple[str, ...], verb: str) -> set[str]:
    """Packages the stage installs with one of ``tools`` and ``verb`` (`apk add`), literal names without versions."""
    installed: set[str] = set()
    for _, commands in shell_runs(stage):
        for command in commands:
            invocation = Invocation.of(command)
            if invocation.runs(tools, (verb,)):
                installed.update(
                    a.partition("=")[0] for a in invocation.after_verb if a is not None and not a.startswith("-")
                )
    return installed


def uses_package_manager(stage: Stage, names: Iterable[str]) -> Instruction | None:
    """The first RUN of the stage that runs one of ``names`` (e.g. `apk`), or None."""
    wanted = set(names)
    return next(
        (run for run, commands in shell_runs(stage) if any(tool_and_arguments(c)[0] in wanted for c in commands)), None
    )


def apt_install_text(document: Document, packages: Iterable[str]) -> str:
    """A RUN that installs ``packages`` with apt, without recommendations, and removes the package lists."""
    style = Style.of(document)
    names = " ".join(sorted(set(packages)))
    first = "apt-get update"
    text = first
    for command in (f"apt-get install -y --no-install-recommends {names}", "rm -rf /var/lib/apt/lists/*"):
        text += style.join(document, (), command)
    return f"RUN {text}"


def is_build_only_apt_package(name: str) -> bool:
    entry = data()["build_only_apt_packages"]
    return name in entry["names"] or name.endswith(tuple(entry["suffixes"]))


def apt_packages_for_commands(commands: Iterable[str]) -> list[str]:
    table = data()["apt_package_for_command"]
    companions = data()["apt_companions"]
    packages: list[str] = []
    for command in commands:
        packages.append(table[command])
        packages.extend(companions.get(command, ()))
    return sorted(set(packages))


def native_entry(ecosystem: str, package: str) -> Mapping[str, Any] | None:
    return data()["native"].get(ecosystem, {}).get(package)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.split(r"[._]", version) if part.isdigit())


def measured(reference: Reference) -> Measurement | None:
    """The measurement that stands for an official image's tag: the tag itself where it was measured, else a measured
    tag of the same family, variant and version (another OS release), else the newest measured version of the
    family's variant; None for an unknown tag or variant. The measurement names its own tag, so a message can say
    what was measured."""
    identified = identify(reference)
    if identified is None:
        return None
    tag = reference.tag or "latest"
    candidates = []
    for measurement in measurements():
        other = identify(Reference.parse(measurement.reference))
        if other is None or other.family != identified.family or other.variant.name != identified.variant.name:
            continue
        if measurement.image == reference.official_name and measurement.tag == tag:
            return measurement
        same_version = identified.version == other.version or identified.version.startswith(other.version + ".")
        candidates.append((same_version, _version_key(other.version), measurement.date, measurement))
    return max(candidates, key=lambda candidate: candidate[:3])[3] if candidates else None


def _major(version: str) -> str:
    return re.split(r"[._]", version, maxsplit=1)[0]


def measured_same_major(reference: Reference) -> Measurement | None:
    """``measured``, only when the measurement is of the tag's own major version: another major's size (Java 21's
    for Java 8, Node 22's for Node 20) says nothing of this one."""
    measurement = measured(reference)
    if measurement is None:
        return None
    same_tag = measurement.image == reference.official_name and measurement.tag == (reference.tag or "latest")
    identified, other = identify(reference), identify(Reference.parse(measurement.reference))
    assert identified is not None and other is not None, "measured answers only when both tags are identified"
    return measurement if same_tag or _major(identified.version) == _major(other.version) else None


# Release codenames by version, as the distributions publish them (a tag may name either).
DEBIAN_CODENAMES = {"9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky"}
UBUNTU_CODENAMES = {
    "14.04": "trusty",
    "16.04": "xenial",
    "18.04": "bionic",
    "20.04": "focal",
    "22.04": "jammy",
    "24.04": "noble",
    "24.10": "oracular",
    "25.04": "plucky",
    "25.10": "questing",
}
_DISTRIBUTIONS = {"debian": DEBIAN_CODENAMES, "ubuntu": UBUNTU_CODENAMES}


class OperatingSystem(Struct, frozen=True):
    """The Debian-family distribution an image is built on. ``release``: its codename, None when the tag names none
    (`latest`, `stable`, `python:3.12-slim`: which release it is moves with time). ``bare``: the distribution's own
    image, holding only its minimal package set; any other image holds packages of its own that are not known here."""

    distribution: str
    release: str | None
    bare: bool


def _release_in_tag(distribution: str, tag: str) -> str | None:
    codenames = _DISTRIBUTIONS[distribution]
    first = tag.split("-", 1)[0]
    if first in codenames.values():
        return first
    if distribution == "debian":
        return codenames.get(first.split(".", 1)[0])
    return codenames.get(".".join(first.split(".")[:2]))


def operating_system(reference: Reference) -> OperatingSystem | None:
    """The Debian or Ubuntu release an official image is built on, as far as its tag tells; None for other images."""
    name = reference.official_name
    if name in _DISTRIBUTIONS:
        return OperatingSystem(name, _release_in_tag(name, reference.tag or "latest"), bare=True)
    identified = identify(reference)
    release = identified.release if identified else None
    for distribution, codenames in _DISTRIBUTIONS.items():
        if release in codenames.values():
            return OperatingSystem(distribution, release, bare=False)
    return None


def gain_on_base(debian_gain: Gain, reference: Reference | None, system: OperatingSystem | None) -> Gain:
    """A gain computed on a Debian minbase system, as it holds for an image on ``reference``: Debian's
    Installed-Size counts only on Debian's own image of a named release; elsewhere the base holds packages not
    known here, or is not Debian."""
    if system is None:
        image = f"`{reference.text()}`" if reference is not None else "the base image"
        return Unknown(f"{image} is not a known Debian or Ubuntu image; Debian's relations named the packages")
    assert reference is not None, "stage_operating_system names a system only for a reference"
    if system.release is None:
        return Unknown(f"`{reference.text()}` does not name its {system.distribution} release")
    if not system.bare and not isinstance(debian_gain, Unknown):
        return Unknown(
            f"`{reference.text()}` holds packages beyond {system.distribution}'s minimal set:"
            " which of these it has is not known"
        )
    return debian_gain


def stage_operating_system(document: Document, stage: Stage) -> tuple[Reference | None, OperatingSystem | None]:
    """The image a stage is built on, through the stages it names, and its Debian-family release if known."""
    chain = base_stages(document, stage)
    reference = resolved_reference(document, chain[-1] if chain else stage)
    return reference, operating_system(reference) if reference is not None else None
