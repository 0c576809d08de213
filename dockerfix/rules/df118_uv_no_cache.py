"""DF118: uv installs without `--no-cache`."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation, verb_index
from dockerfix.knowledge.cachemounts import UV_CACHE, CacheMount, ToolCache
from dockerfix.knowledge.cacherules import AddFlagRule
from dockerfix.knowledge.cleanups import reading
from dockerfix.rewriter.document import Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

# uv's subcommands that download into its cache to install (`uvx` and `uv run` run tools, they install nothing
# the image keeps); the value is the second word a two-word subcommand needs
INSTALLS: dict[str, frozenset[str] | None] = {
    "sync": None,
    "add": None,
    "pip": frozenset({"install", "sync"}),
    "tool": frozenset({"install"}),
}
# `--no-cache-dir` and `-n` are uv's own aliases of `--no-cache`, which uv takes before or after the subcommand
NO_CACHE_FLAGS = {"--no-cache", "--no-cache-dir", "-n"}
FALSE_VALUES = {"", "0", "false", "no", "off"}


def install_word(arguments: list[str | None]) -> int | None:
    """Index of the last word of an installing subcommand (`uv pip install` -> the index of `install`), or None.
    A global option with a value before the subcommand (`uv --directory app sync`) hides it: None."""
    verb = verb_index(arguments)
    verb_word = arguments[verb] if verb is not None else None
    if verb is None or verb_word is None or verb_word not in INSTALLS:
        return None
    second_words = INSTALLS[verb_word]
    if second_words is None:
        return verb
    rest = arguments[verb + 1 :]
    second = verb_index(rest)
    return verb + 1 + second if second is not None and rest[second] in second_words else None


def option_value(arguments: list[str | None], option: str) -> str | None:
    """The value of `--option value` or `--option=value` among the arguments, else None."""
    for index, argument in enumerate(arguments):
        if argument == option and index + 1 < len(arguments):
            return arguments[index + 1]
        if argument is not None and argument.startswith(option + "="):
            return argument.partition("=")[2]
    return None


class UvNoCache(AddFlagRule):
    """Install with uv without keeping its cache: `--no-cache`, or a cache mount with BuildKit.

    What it does
        Flags `uv pip install`, `uv pip sync`, `uv sync`, `uv add` and `uv tool install` without `--no-cache`
        (or its aliases `--no-cache-dir`, `-n`, before or after the subcommand) and adds the flag after the
        subcommand, unless `UV_NO_CACHE` is set or the RUN mounts a cache over uv's cache folder. With
        `target = "buildkit"` (the default) the fix mounts a build cache over the folder instead: `~/.cache/uv` of
        root, or where `UV_CACHE_DIR` / `XDG_CACHE_HOME` put it, as uv's Docker guide does. A RUN as another user,
        a `--cache-dir` given on the command line, or a folder that cannot be read gets the flag. uv told to
        link packages as symbolic links into its cache (`UV_LINK_MODE=symlink`, `--link-mode symlink`) is left
        alone: the installed packages are the cache there.

    Why
        uv hard-links the installed files to its cache, so those cost no second copy, but its cache also keeps the
        package index responses, wheels it built and packages it did not install (1.8 MB over a 7.5 MB virtual
        environment for flask, requests and pyyaml, measured in decisions); with BuildKit the cache mount also
        spares the next build the downloads.

    Example
        RUN uv sync --frozen --no-dev
        becomes (target = "buildkit")
        RUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev
        or (target = "legacy")
        RUN uv sync --no-cache --frozen --no-dev

    Gain
        Unknown: the size of uv's cache after the install was not measured, so the finding says so instead of a
        number (it is reported, marked unknown).

    Fix safety
        Unsafe: the image no longer contains uv's cache (either fix; the mount needs BuildKit). With the cache on a
        mount uv copies the packages instead of hard-linking them (the same files) and prints a warning that
        `UV_LINK_MODE=copy` silences; the fix leaves that setting to the user. A `uv.toml` or `[tool.uv]` that
        sets `cache-dir` or `link-mode` is not read.
    """

    code = "DF118"
    tools = ("uv",)
    layer_rule = True
    buildkit_syntax = "`RUN --mount=type=cache` over uv's cache"
    name = "uv-no-cache"
    summary = "uv installs without --no-cache keep uv's cache in the image."
    flag = "--no-cache"
    effect = "uv's cache (~/.cache/uv) is no longer written into the image"
    cached_paths = ("/root/.cache/uv",)
    valid = (
        "FROM python:3.12\nRUN uv pip install --system --no-cache flask\n",
        "FROM python:3.12\nRUN uv --no-cache sync --frozen\n",
        "FROM python:3.12\nENV UV_NO_CACHE=1\nRUN uv sync --frozen\n",
        "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen\n",
        "FROM python:3.12\nENV UV_CACHE_DIR=/opt/uv-cache\n"
        "RUN --mount=type=cache,target=/opt/uv-cache uv pip install --system flask\n",
        "FROM python:3.12\nENV UV_LINK_MODE=symlink\nRUN uv sync --frozen\n",
        "FROM python:3.12\nRUN uv pip install --link-mode symlink --system flask\n",
        "FROM python:3.12\nRUN uvx ruff check . && uv run pytest && uv pip list\n",
        "FROM python:3.12\nRUN UV_NO_CACHE=true uv tool install ruff\n",
    )
    invalid = (
        Example(
            "FROM python:3.12\nRUN uv sync --frozen --no-dev\n",
            "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/uv uv sync --frozen --no-dev\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nRUN uv pip install --system -r requirements.txt\n",
            "FROM python:3.12\nRUN uv pip install --no-cache --system -r requirements.txt\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM python:3.12\nRUN uv --quiet tool install ruff && uv add requests\n",
            "FROM python:3.12\nRUN uv --quiet tool install --no-cache ruff && uv add --no-cache requests\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM python:3.12\nENV XDG_CACHE_HOME=/var/cache\nUSER 1000:1000\nRUN uv pip sync requirements.txt\n",
            "FROM python:3.12\nENV XDG_CACHE_HOME=/var/cache\nUSER 1000:1000\n"
            "RUN --mount=type=cache,target=/var/cache/uv,uid=1000,gid=1000 uv pip sync requirements.txt\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nUSER app\nRUN uv add requests\n",
            "FROM python:3.12\nUSER app\nRUN uv add --no-cache requests\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nRUN uv pip install --cache-dir /tmp/uv --system flask\n",
            "FROM python:3.12\nRUN uv pip install --no-cache --cache-dir /tmp/uv --system flask\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nRUN UV_CACHE_DIR=/opt/uv uv sync\n",
            "FROM python:3.12\nRUN --mount=type=cache,target=/opt/uv UV_CACHE_DIR=/opt/uv uv sync\n",
            unsafe=True,
        ),
    )

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        return ContentChange(removes=self.cached_paths)

    def wants_flag(self, invocation: Invocation) -> bool:
        return invocation.tool == "uv" and install_word(invocation.arguments) is not None

    def has_flag(self, arguments: list[str | None]) -> bool:
        return bool(NO_CACHE_FLAGS.intersection(argument for argument in arguments if argument is not None))

    def flag_index(self, invocation: Invocation) -> int | None:
        return install_word(invocation.arguments)

    def exempt_command(self, stage: Stage, run: Instruction, position: int) -> bool:
        environment = reading(stage, run).environments[position]
        arguments = Invocation.of(run.shell_script.simple_commands()[position]).arguments
        no_cache = environment.get("UV_NO_CACHE", "0").lower() not in FALSE_VALUES
        symlinked = "symlink" in (environment.get("UV_LINK_MODE"), option_value(arguments, "--link-mode"))
        return no_cache or symlinked

    def exempt(self, stage: Stage, run: Instruction) -> bool:
        return self.cache_mount.already_mounted(stage, run, list(run.shell_script.simple_commands()))

    @property
    def cache_mount(self) -> CacheMount:
        return CacheMount(
            self.caches, note="; uv then copies instead of hard-linking and warns, which `UV_LINK_MODE=copy` silences"
        )

    def caches(
        self, stage: Stage, run: Instruction, commands: list[SimpleCommand]
    ) -> list[tuple[int, ToolCache]] | None:
        found = []
        for position, command in enumerate(commands):
            invocation = Invocation.of(command)
            arguments = invocation.arguments
            if not self.wants_flag(invocation) or self.has_flag(arguments) or self.exempt_command(stage, run, position):
                continue
            if option_value(arguments, "--cache-dir") is not None:
                return None  # a folder given on the command line: the flag
            found.append((position, UV_CACHE))
        return found
