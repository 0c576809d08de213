"""Cache mounts as the fix for a package manager's cache (BuildKit only): where each tool keeps its cache, which
variables move it, who the RUN runs as, and the `RUN --mount=type=cache,...` text that keeps the cache out of the
image while the next build reuses it.

A mount is offered only where its folder is certain: the RUN runs as root (no USER in the stage, or `root`/`0`)
and the folder is the tool's default under `$HOME` (`/root`, or the stage's `HOME`), or a variable the stage or the
RUN sets to an absolute path moves it; a numeric USER is given `uid=`/`gid=` when a variable names the folder.
Anywhere else (a named user, a folder the base image may have moved) the rule keeps its legacy fix.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence

from msgspec import Struct

from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ContentChange, Edit, Fix
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand, Word
from dockerfix.rewriter.stages import base_stages, expand_global_args

from .analysis import Invocation, run_user, workdir_at
from .baseimages import Reference
from .cleanups import (
    Removal,
    kept_out_by_mount,
    mount_targets,
    reading,
    removed_after,
    removing_commands,
    run_mounts,
    word_path,
)

BUILDKIT = "buildkit"


class ToolCache(Struct, frozen=True):
    """Where one tool caches: ``variables`` are tried in order (name, the folder below its value), then
    ``home_folder`` below the user's home, or ``fixed`` (an absolute folder that does not depend on the user)."""

    tool: str
    variables: tuple[tuple[str, str], ...] = ()
    home_folder: str | None = None
    fixed: str | None = None
    sharing: str | None = None
    # Java reads `user.home` from the user's passwd entry, not from $HOME: root's is /root, a HOME set otherwise
    # leaves the folder in doubt
    home_from_passwd: bool = False
    # Folders below the cache folder whose owner and mode the tool sets each time it runs: without the mount the
    # image records what the tool set, with it the image keeps the base image's, which the mount fix declares
    reowned: tuple[str, ...] = ()


PIP_CACHE = ToolCache("pip", (("PIP_CACHE_DIR", ""), ("XDG_CACHE_HOME", "pip")), ".cache/pip")
NPM_CACHE = ToolCache("npm", (("npm_config_cache", ""), ("NPM_CONFIG_CACHE", "")), ".npm")
# Yarn 1 as root caches in /usr/local/share/.cache/yarn whatever HOME is; Yarn 2+ keeps a cache per project
YARN_V1_CACHE = ToolCache("yarn", (("YARN_CACHE_FOLDER", ""),), fixed="/usr/local/share/.cache/yarn")
# apt takes a lock on both folders: builds running at once must wait for each other, not share them. Run as root,
# apt makes its `partial` download folders its sandbox user's (`_apt:root`, 0700) on every `update` and every
# download (apt-pkg/acquire.cc, SetupAPTPartialDirectory; apt 2.6.1 turned Debian's 0755 root:root into that)
APT_LISTS = ToolCache("apt", fixed="/var/lib/apt/lists", sharing="locked", reowned=("partial",))
APT_ARCHIVES = ToolCache("apt", fixed="/var/cache/apt", sharing="locked", reowned=("archives/partial",))
COMPOSER_CACHE = ToolCache("composer", (("COMPOSER_CACHE_DIR", ""), ("COMPOSER_HOME", "cache")))
UV_CACHE = ToolCache("uv", (("UV_CACHE_DIR", ""), ("XDG_CACHE_HOME", "uv")), ".cache/uv")
# Poetry's cache folder also holds its virtualenvs (`virtualenvs.in-project` false, the default), which are the
# installed packages: only its HTTP cache and its downloaded archives are cache
POETRY_HTTP_CACHE = ToolCache(
    "poetry", (("POETRY_CACHE_DIR", "cache"), ("XDG_CACHE_HOME", "pypoetry/cache")), ".cache/pypoetry/cache"
)
POETRY_ARTIFACTS = ToolCache(
    "poetry", (("POETRY_CACHE_DIR", "artifacts"), ("XDG_CACHE_HOME", "pypoetry/artifacts")), ".cache/pypoetry/artifacts"
)
# pnpm's content-addressable store (`pnpm store path` without its version folder) and its registry metadata cache
PNPM_STORE = ToolCache(
    "pnpm",
    (
        ("npm_config_store_dir", ""),
        ("NPM_CONFIG_STORE_DIR", ""),
        ("PNPM_HOME", "store"),
        ("XDG_DATA_HOME", "pnpm/store"),
    ),
    ".local/share/pnpm/store",
)
PNPM_METADATA = ToolCache(
    "pnpm", (("npm_config_cache_dir", ""), ("NPM_CONFIG_CACHE_DIR", ""), ("XDG_CACHE_HOME", "pnpm")), ".cache/pnpm"
)
# Compiled languages (DF205). Go: downloaded modules (GOPATH's first entry, `~/go` by default) and compiled packages
# (`os.UserCacheDir()`); Cargo: the crates and git checkouts it downloads, never the project's target/.
GO_MODULES = ToolCache("go", (("GOMODCACHE", ""), ("GOPATH", "pkg/mod")), "go/pkg/mod")
GO_BUILD = ToolCache("go", (("GOCACHE", ""), ("XDG_CACHE_HOME", "go-build")), ".cache/go-build")
CARGO_REGISTRY = ToolCache("cargo", (("CARGO_HOME", "registry"),), ".cargo/registry")
CARGO_GIT = ToolCache("cargo", (("CARGO_HOME", "git"),), ".cargo/git")
# Maven's resolver locks its local repository only within one JVM by default (maven.apache.org, "About
# SyncContextFactory"): builds sharing the mount at once must take turns
MAVEN_REPOSITORY = ToolCache("maven", home_folder=".m2/repository", sharing="locked", home_from_passwd=True)
GRADLE_CACHES = ToolCache("gradle", (("GRADLE_USER_HOME", "caches"),), ".gradle/caches", home_from_passwd=True)
GRADLE_WRAPPER = ToolCache(
    "gradle", (("GRADLE_USER_HOME", "wrapper/dists"),), ".gradle/wrapper/dists", home_from_passwd=True
)


def wants_mount(rule: Rule, context: RuleContext) -> bool:
    """Whether fixes may write `RUN --mount` (the run-wide `target` setting)."""
    return rule.option(context, "target") == BUILDKIT


def _set_below(document: Document, stage: Stage) -> tuple[bool, frozenset[str]]:
    """Whether a stage below sets a USER, and the names its ENV and ARG set: read once per stage, not per RUN."""
    user = False
    names: set[str] = set()
    for below in base_stages(document, stage):
        for instruction in below.instructions:
            if instruction.cmd == "user":
                user = True
            elif instruction.cmd == "env":
                names.update(instruction.value[0::2])
            elif instruction.cmd == "arg":
                names.update(word.partition("=")[0] for word in instruction.value)
    return user, frozenset(names)


def inherits_setting(document: Document, stage: Stage, cache: ToolCache) -> bool:
    """Whether a stage below sets the user or a variable that moves the cache (the RUN's reading sees only its own
    stage's ENV and ARG)."""
    user, names = document.facts(_set_below, stage)
    return user or not names.isdisjoint({name for name, _ in cache.variables} | {"HOME"})


# What the official images of the compiled languages set in their ENV, read from their Dockerfiles in
# ../shared/corpus/real/ (docker-library/golang at 7c8c182, files 00401-00412: `ENV GOPATH /go`; rust-lang/docker-rust
# at 7668ee2, files 00461-00472: `CARGO_HOME=/usr/local/cargo`). None: no Dockerfile of the image is at hand (maven,
# gradle), so what its ENV moves is unknown.
TOOL_IMAGE_ENVIRONMENTS: Mapping[str, Mapping[str, str] | None] = {
    "golang": {"GOPATH": "/go"},
    "rust": {"CARGO_HOME": "/usr/local/cargo", "RUSTUP_HOME": "/usr/local/rustup"},
    "maven": None,
    "gradle": None,
}
# An image named after a language tool (`clux/muslrust`, `lukemathwalker/cargo-chef`, `company/golang`) is most
# likely built on its official image, whose ENV moves the caches
_TOOL_NAMED = LazyPattern(r"golang|rust|cargo|maven|gradle|(?:^|[/_.-])(?:go|mvn)(?:[/_.-]|$)")
_DEFAULT_REGISTRY = LazyPattern(r"^(?:(?:index\.)?docker\.io/)?(?:library/)?")


def base_image_environment(document: Document, stage: Stage) -> Mapping[str, str] | None:
    """What the image a stage is built on (through earlier stages) sets that moves a compiled language's caches:
    nothing for an image not named after such a tool (as for the other caches, its ENV is taken to move nothing),
    the cited ENV of the official golang and rust images, and None (unknown) for any other image of such a tool, an
    `onbuild` image or an image a build argument names."""
    root = (base_stages(document, stage) or [stage])[-1]
    image = expand_global_args(root.base_image, document)
    if image is None:
        return None
    if image.lower() == "scratch":
        return {}
    reference = Reference.parse(image)
    if "onbuild" in (reference.tag or "").lower():
        return None  # its ONBUILD triggers run steps this file does not show
    name = _DEFAULT_REGISTRY.sub("", reference.repository.lower())
    if name in TOOL_IMAGE_ENVIRONMENTS:
        return TOOL_IMAGE_ENVIRONMENTS[name]
    return None if _TOOL_NAMED.search(name) else {}


def _absolute(value: str | None) -> str | None:
    """An absolute folder written literally; not a list (`GOPATH=/a:/b` puts the cache under its first entry)."""
    return (
        posixpath.normpath(value) if value and value.startswith("/") and "$" not in value and ":" not in value else None
    )


class Mount(Struct, frozen=True):
    target: str
    sharing: str | None = None
    owner: str | None = None  # `uid=N,gid=N` for a RUN that runs as a numeric user

    @property
    def flag(self) -> str:
        options = [f"type=cache,target={self.target}"]
        options += [f"sharing={self.sharing}"] if self.sharing else []
        options += [self.owner] if self.owner else []
        return "--mount=" + ",".join(options)


def cache_folder(
    stage: Stage, run: Instruction, position: int, cache: ToolCache, image_environment: Mapping[str, str] | None = None
) -> str | None:
    """Where ``cache`` is for the command at ``position`` of the RUN, as far as the Dockerfile tells: a variable
    that moves it (set in the stage or the RUN, else in ``image_environment``, what the base image is known to set),
    the tool's fixed folder, or its folder in root's home when the RUN runs as root."""
    if not cache.variables and cache.home_folder is None:  # a fixed folder (apt's): no variable to read
        return cache.fixed
    environment: Mapping[str, str] = reading(stage, run).environments[position]
    for name, below in cache.variables:
        value = environment[name] if name in environment else (image_environment or {}).get(name)
        if value is not None:
            folder = _absolute(value)
            return None if folder is None else posixpath.join(folder, below) if below else folder
    if cache.fixed is not None:
        return cache.fixed
    if cache.home_folder is not None and runs_as_root(stage, run):
        home = _absolute(environment.get("HOME", "/root"))
        if cache.home_from_passwd and home != "/root":
            return None
        return posixpath.join(home, cache.home_folder) if home else None
    return None


def removable_folder(document: Document, stage: Stage, run: Instruction, position: int, cache: ToolCache) -> str | None:
    """The cache folder as a removal can name it: ``cache_folder``, else its folder under the home of the user the
    RUN runs as (`~/...`, which that user's shell expands); None when a variable moves it to a value that cannot be
    read, or a stage below may move it. A base image that moves the folder makes such a removal remove nothing,
    which breaks nothing."""
    if inherits_setting(document, stage, cache):
        return None
    folder = cache_folder(stage, run, position, cache)
    if folder is not None:
        return folder
    environment: Mapping[str, str] = reading(stage, run).environments[position]
    if any(name in environment for name, _ in cache.variables) or cache.home_folder is None:
        return None
    return "~/" + cache.home_folder


def cache_handled(stage: Stage, run: Instruction, position: int, cache: ToolCache) -> bool:
    """Whether the RUN removes ``cache``'s folder after the command at ``position``, or mounts over it; the folder
    as the stage reads it, under `$HOME`, or below a variable that moves it. A mount whose target ends as the
    folder does counts too (`/home/node/.cache/pnpm`, `/pnpm/store` for `$PNPM_HOME/store`): the user's home, or
    a variable set in a stage below or the base image, is where the RUN cannot read it."""
    folder = cache_folder(stage, run, position, cache)
    spellings = [folder] if folder else []
    spellings += [f"${name}/{below}".rstrip("/") for name, below in cache.variables]
    spellings += [f"$HOME/{cache.home_folder}"] if cache.home_folder else []
    endings = [below for _, below in cache.variables if below] + ([cache.home_folder] if cache.home_folder else [])
    if any(target.endswith("/" + ending) for target in mount_targets(stage, run) for ending in endings):
        return True
    return any(
        removed_after(stage, run, position, spelling + "/x") or kept_out_by_mount(stage, run, spelling + "/x")
        for spelling in spellings
    )


def removal_cleanup(
    document: Document, stage: Stage, run: Instruction, located: Sequence[tuple[int, ToolCache]]
) -> tuple[str, str | None]:
    """`rm -rf` of the folders of these caches (command position, cache), for a tool with no command that empties
    its cache, and why a folder cannot be named (None when every one can; the command then names the default)."""
    folders: list[str] = []
    unknown = None
    for position, cache in located:
        folder = removable_folder(document, stage, run, position, cache)
        if folder is None:
            unknown = f"{cache.tool}'s cache folder is moved by a value that cannot be read here or by a stage below"
            environment = reading(stage, run).environments[position]
            moved = next(
                (f"${name}/{below}".rstrip("/") for name, below in cache.variables if name in environment), None
            )
            folder = moved or f"~/{cache.home_folder}"
        folders.append(folder)
    return "rm -rf " + " ".join(dict.fromkeys(folders)), unknown


def runs_as_root(stage: Stage, run: Instruction) -> bool:
    return (run_user(stage, run) or "root").partition(":")[0] in ("root", "0")


def cache_mount(
    document: Document,
    stage: Stage,
    run: Instruction,
    position: int,
    cache: ToolCache,
    image_environment: Mapping[str, str] | None = None,
) -> Mount | None:
    """The mount that holds ``cache`` for the command at ``position`` of the RUN, or None when its folder or the
    user it must belong to is not certain."""
    folder = cache_folder(stage, run, position, cache, image_environment)
    if folder is None or inherits_setting(document, stage, cache):
        return None
    if runs_as_root(stage, run):
        return Mount(folder, cache.sharing)
    user, _, group = (run_user(stage, run) or "").partition(":")
    if not user.isdigit() or (group and not group.isdigit()):
        return None  # the uid of a named user is in the base image's /etc/passwd
    return Mount(folder, cache.sharing, f"uid={user},gid={group or user}")


def within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it (both absolute and normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# `mv` options whose value is the next word
_MV_VALUE_OPTIONS = frozenset({"-t", "--target-directory", "-S", "--suffix"})


def moved_paths(command: SimpleCommand, environment: Mapping[str, str]) -> list[str]:
    """The paths a `mv` takes away from where they were (its sources), as far as they can be read."""
    invocation = Invocation.of(command)
    if invocation.tool != "mv":
        return []
    operands: list[Word] = []
    destination_named = options_done = False
    words = iter(command.arguments[invocation.shift :])
    for word in words:
        if options_done or not word.text.startswith("-"):
            operands.append(word)
        elif word.text == "--":
            options_done = True
        else:
            destination_named = destination_named or word.text.startswith(("-t", "--target-directory"))
            if word.text in _MV_VALUE_OPTIONS:
                next(words, None)
    # without `-t DEST` the last operand is the destination
    sources = operands if destination_named else operands[:-1]
    return [path for word in sources if (path := word_path(word, environment)) is not None]


def moving_commands(run: Instruction) -> tuple[int, ...]:
    """The positions of the RUN's `mv` commands, found once per RUN (each cache a mount fix places asks)."""
    return run.facts(_find_moving_commands)


def _find_moving_commands(run: Instruction) -> tuple[int, ...]:
    return tuple(
        position
        for position, command in enumerate(run.shell_script.simple_commands())
        if Invocation.of(command).tool == "mv"
    )


def taken_away(stage: Stage, run: Instruction, path: str) -> bool:
    """Whether a command of the RUN removes or moves ``path`` or a folder above it (`rm -rf`, `find -delete`, `mv`),
    before or after the tool runs. A mount's target is a mount point, which neither can take away: `rm` and `mv`
    fail with EBUSY and the build breaks."""
    moving = moving_commands(run)
    if not moving and not removing_commands(run):  # most RUNs: nothing to read
        return False
    read = reading(stage, run)
    candidates = {path}
    if path.startswith("/root/"):
        candidates.add("$HOME" + path.removeprefix("/root"))
    commands = run.shell_script.simple_commands()
    moves = [
        (index, Removal(moved)) for index in moving for moved in moved_paths(commands[index], read.environments[index])
    ]
    return any(
        removal.covers(candidate, read.folders[index])
        for index, removal in (*read.removals, *moves)
        for candidate in candidates
    )


# what a RUN may run over a mounted folder's contents without reading them (taken_away checks the folder itself)
_EMPTYING_TOOLS = frozenset({"rm", "find", "rmdir", "mv"})


def hides_content(document: Document, stage: Stage, run: Instruction, target: str) -> bool:
    """Whether a mount over ``target`` may hide files the RUN reads there: the RUN names a path below it (`pip install
    --find-links /root/.cache/pip/wheels`), or a COPY/ADD earlier in the stage or a stage it is built on writes into
    it or a folder above it (`COPY wheels /root/.cache/pip/offline`; `WORKDIR /root` + `COPY . .`). The mount shows
    the cache's own content instead, and the install fails; so does one whose destination cannot be read here."""
    below = target.rstrip("/") + "/"
    script = run.shell_script
    # each word is a slice of the script's text: one search of it answers for most RUNs, which name no such path
    named_below = below in script.source and any(
        below in word.text
        for command in script.simple_commands()
        if Invocation.of(command).tool not in _EMPTYING_TOOLS  # emptying a mounted folder is allowed (its contents)
        for word in command.arguments
    )
    if named_below:
        return True
    if any(base.facts(_first_hiding_copy, target) is not None for base in base_stages(document, stage)):
        return True
    first = stage.facts(_first_hiding_copy, target)
    return first is not None and first < run.span[0]


def _first_hiding_copy(stage: Stage, target: str) -> int | None:
    """The offset of the stage's first COPY/ADD that may write into ``target``, None when none does. Found once per
    stage and target: asked for every RUN, a walk of the instructions before it was quadratic in them."""
    for instruction in stage.instructions:
        if instruction.cmd in ("copy", "add") and instruction.value and _may_write_into(stage, instruction, target):
            return instruction.span[0]
    return None


def _may_write_into(stage: Stage, instruction: Instruction, target: str) -> bool:
    """Whether a COPY/ADD writes into ``target`` or a folder above it with a tree, or its destination cannot be
    read here (a variable, a relative one under a WORKDIR the base image sets)."""
    destination = instruction.value[-1]
    if not destination.startswith("/"):
        folder = workdir_at(stage, instruction)
        if folder is None or "$" in folder:
            return True
        destination = posixpath.join(folder, destination)
    if "$" in destination:
        return True
    destination = posixpath.normpath(destination)
    return within(destination, target) or (within(target, destination) and _copies_a_tree(instruction))


_ARCHIVE = LazyPattern(r"\.(tar|tgz|tbz2?|txz|tar\.\w+)$")


def _copies_a_tree(instruction: Instruction) -> bool:
    """Whether a COPY/ADD may write into folders below its destination: a folder (`.`, `src/`), a pattern, or an
    archive ADD extracts. Single files land in the destination itself."""
    return any(
        source in (".", "./")
        or source.endswith("/")
        or any(mark in source for mark in "*?[")
        or (instruction.cmd == "add" and bool(_ARCHIVE.search(source)))
        or "." not in posixpath.basename(source)  # a name without an extension is likely a folder
        for source in instruction.value[:-1]
    )


def mounts_to_add(stage: Stage, run: Instruction, mounts: Sequence[Mount]) -> list[Mount] | None:
    """Of ``mounts``, those the RUN does not hold yet: a mount of the RUN, of any type, over the folder or a folder
    above it already keeps the folder out of the image, and a second mount on one target would hide the first.
    None when a mount of the RUN lies below one of the folders (the new mount would hide it) or its target cannot
    be read here (it may be one of the folders)."""
    targets = [mount.target for mount in run_mounts(stage, run)]
    held = [target for target in targets if target is not None and target.startswith("/") and "$" not in target]
    if len(held) < len(targets):
        return None
    if any(within(target, mount.target) and target != mount.target for target in held for mount in mounts):
        return None
    return [mount for mount in mounts if not any(within(mount.target, target) for target in held)]


def mount_edit(run: Instruction, mounts: Sequence[Mount]) -> Edit:
    """Insert the mounts after the RUN's flags, before its command."""
    return Edit.insert(run.arguments_start, "".join(mount.flag + " " for mount in mounts))


def mount_title(mounts: Sequence[Mount]) -> str:
    targets = ", ".join(f"`{mount.target}`" for mount in mounts)
    return (
        f"Mount a build cache over {targets} (needs BuildKit; removes the cache from the image, the next build "
        "reuses it)"
    )


# Which tool caches a RUN's commands write, as (command position, tool cache); None when one cannot be mounted (a
# tool version whose folder is unknown)
CachesWritten = Callable[[Stage, Instruction, list[SimpleCommand]], "list[tuple[int, ToolCache]] | None"]


class CacheMount(Struct, frozen=True):
    """How a layer rule whose cache a mount can hold fixes a RUN with `target = "buildkit"`: it mounts a build cache
    over the folders instead of deleting or not writing the cache, when every folder is certain and the RUN neither
    removes nor moves one (else the rule's own fix). The image loses exactly what the legacy fix removes; the next
    build finds the cache again. ``caches`` is the rule's reading of the RUN; ``note`` what the fix's title adds."""

    caches: CachesWritten
    note: str = ""

    def content_change(
        self, declared: ContentChange, stage: Stage, run: Instruction, commands: list[SimpleCommand]
    ) -> ContentChange:
        """What the legacy fix removes from this RUN's image: the rule's ``declared`` folders, and where the stage or
        the RUN moved the caches to (`COMPOSER_HOME=/tmp/composer` removes `/tmp/composer/cache`, not `~/.composer`)."""
        folders = [
            cache_folder(stage, run, position, cache) for position, cache in self.caches(stage, run, commands) or ()
        ]
        removes = tuple(dict.fromkeys((*declared.removes, *(folder for folder in folders if folder is not None))))
        return ContentChange(removes, declared.alters, declared.environment)

    def already_mounted(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        """Whether a `--mount` of the RUN already holds every cache its commands write (the rule is then quiet)."""
        folders = [
            cache_folder(stage, run, position, cache) for position, cache in self.caches(stage, run, commands) or ()
        ]
        return bool(folders) and all(
            folder is not None and kept_out_by_mount(stage, run, folder + "/x") for folder in folders
        )

    def fix(
        self,
        rule: Rule,
        document: Document,
        stage: Stage,
        run: Instruction,
        commands: list[SimpleCommand],
        context: RuleContext,
    ) -> Fix | None:
        if not wants_mount(rule, context):
            return None
        located: list[tuple[ToolCache, Mount]] = []
        for position, cache in self.caches(stage, run, commands) or ():
            mount = cache_mount(document, stage, run, position, cache)
            if (
                mount is None
                or taken_away(stage, run, mount.target)
                or hides_content(document, stage, run, mount.target)
            ):
                return None
            located.append((cache, mount))
        mounts = mounts_to_add(stage, run, list(dict.fromkeys(mount for _, mount in located))) or []
        if not mounts:
            return None
        reowned = (
            posixpath.join(mount.target, folder)
            for cache, mount in located
            if mount in mounts
            for folder in cache.reowned
        )
        changes = ContentChange(removes=tuple(mount.target for mount in mounts), alters=tuple(dict.fromkeys(reowned)))
        return rule.fix(mount_title(mounts) + self.note, [mount_edit(run, mounts)], Applicability.UNSAFE, changes)
