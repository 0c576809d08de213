"""DF112: clear Composer's cache in the RUN that installed."""

from __future__ import annotations

from collections.abc import Mapping

from dockerfix.knowledge.analysis import Invocation, tool_and_arguments
from dockerfix.knowledge.cachemounts import COMPOSER_CACHE, CacheMount, ToolCache
from dockerfix.knowledge.cacherules import AppendCleanupRule
from dockerfix.knowledge.cleanups import kept_out_by_mount, reading, removed_after
from dockerfix.knowledge.gains import package_cache_gain
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Gain
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

INSTALL_VERBS = {"install", "require", "update", "create-project"}
CLEAR_VERBS = {"clear-cache", "clearcache", "cc"}
LOCATION_VARIABLES = ("COMPOSER_CACHE_DIR", "COMPOSER_HOME")


COMPOSER = ("composer", "composer.phar")


def composer_verb(command: SimpleCommand) -> str | None:
    invocation = Invocation.of(command)
    return invocation.verb if invocation.tool in COMPOSER else None


def cache_folders(environment: Mapping[str, str]) -> tuple[str, ...]:
    """Where Composer writes its cache: `COMPOSER_CACHE_DIR`, else `$COMPOSER_HOME/cache`, else one of its default
    homes (`~/.composer`, or `~/.cache/composer` when it follows XDG)."""
    if "COMPOSER_CACHE_DIR" in environment:
        return (environment["COMPOSER_CACHE_DIR"],)
    if "COMPOSER_HOME" in environment:
        return (environment["COMPOSER_HOME"] + "/cache",)
    return tuple(f"{home}/{folder}" for home in ("$HOME", "/root") for folder in (".composer/cache", ".cache/composer"))


def nested_location(commands: list[SimpleCommand]) -> str | None:
    """The cache-location variable a command inside a subshell or compound command sets (`( export COMPOSER_HOME=...;
    ... )`), whose value the RUN's reading does not carry to later commands."""
    for command in commands:
        if command.top_level and not command.in_subshell:
            continue
        if command.name is None:
            words = command.assignments
        elif command.name_literal in ("export", "declare", "typeset", "readonly"):
            words = command.arguments
        else:
            continue
        for word in words:
            name = word.text.partition("=")[0]
            if name in LOCATION_VARIABLES:
                return name
    return None


class ComposerCacheClean(AppendCleanupRule):
    """Clear Composer's download cache in the RUN that installed PHP packages.

    What it does
        Flags a RUN that runs `composer install` (or `require`, `update`, `create-project`) and leaves Composer's
        cache in the layer, and appends `composer clear-cache`. The cache is where Composer puts it: in
        `COMPOSER_CACHE_DIR`, else in `$COMPOSER_HOME/cache`, as ENV, ARG, `export` or a prefix assignment set them.
        Cleanup already there counts: `--no-cache`, `COMPOSER_CACHE_DIR=/dev/null`, `composer clear-cache`, a
        removal of the cache folder or of a folder above it (`export COMPOSER_HOME="$(mktemp -d)"; ...;
        rm -rf "$COMPOSER_HOME"`), or a `--mount` over it. With `target = "buildkit"` (the default) the fix mounts
        a build cache over the cache folder instead, when the stage or the RUN names it (`COMPOSER_CACHE_DIR`, or
        `COMPOSER_HOME` and its `cache/`); without them the folder depends on the base image (the `composer` image
        sets `COMPOSER_HOME=/tmp`, others keep `~/.composer`), so `composer clear-cache` is appended.

    Why
        Composer keeps every downloaded archive in its cache folder; in an image it is dead weight next to `vendor/`.

    Example
        RUN composer install --no-dev --prefer-dist
        becomes
        RUN composer install --no-dev --prefer-dist \\
            && composer clear-cache

    Gain
        Composer's cache after installing the required packages, from the measurements in
        `dockerfix/data/gains.json` (`gains.package_cache_gain`); unknown while Composer's cache is not measured
        (its registry could not be reached) or the packages are not among those measured.

    Fix safety
        Unsafe: it removes Composer's cache from the image (either fix; the mount needs BuildKit). When the install
        alone is given the cache's location (`COMPOSER_HOME=/tmp/c composer install`), `composer clear-cache` is given
        the same; when that location is
        computed (`COMPOSER_HOME="$(mktemp -d)" composer install`) or set inside a subshell or compound command,
        there is no fix.
    """

    code = "DF112"
    tools = COMPOSER
    layer_rule = True
    buildkit_syntax = "`RUN --mount=type=cache` over Composer's cache"
    name = "composer-cache-clean"
    summary = "composer installs leave their download cache in the layer."
    cached_paths = ("/root/.composer", "/tmp/composer", "/root/.cache/composer")
    valid = (
        "FROM composer:2\nRUN composer install --no-dev && composer clear-cache\n",
        "FROM composer:2\nRUN composer install --no-cache\n",
        "FROM composer:2\nRUN composer --version\n",
        "FROM php:8.3\n"
        'RUN set -eux; export COMPOSER_HOME="$(mktemp -d)"; composer create-project drupal/recommended-project ./; '
        'rm -rf "$COMPOSER_HOME"\n',
        "FROM php:8.3\nENV COMPOSER_HOME=/tmp/composer\nRUN composer install && rm -rf /tmp/composer\n",
        "FROM php:8.3\nRUN COMPOSER_CACHE_DIR=/dev/null composer install\n",
        "FROM php:8.3\nENV COMPOSER_CACHE_DIR=/var/cache/composer\n"
        "RUN --mount=type=cache,target=/var/cache/composer composer install\n",
        "FROM php:8.3\nRUN composer install && rm -rf ~/.composer/cache\n",
        "FROM php:8.3\n"
        'RUN if true; then export COMPOSER_HOME="$(mktemp -d)"; composer install; rm -rf "$COMPOSER_HOME"; fi\n',
    )
    invalid = (
        Example(
            "FROM composer:2\nRUN composer install --no-dev --prefer-dist\n",
            "FROM composer:2\nRUN composer install --no-dev --prefer-dist \\\n    && composer clear-cache\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM php:8.3\nRUN COMPOSER_HOME=/tmp/composer composer install\n",
            "FROM php:8.3\nRUN COMPOSER_HOME=/tmp/composer composer install \\\n"
            "    && COMPOSER_HOME=/tmp/composer composer clear-cache\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM php:8.3\nENV COMPOSER_HOME=/tmp/composer\nRUN composer install && rm -rf /root/.composer\n",
            "FROM php:8.3\nENV COMPOSER_HOME=/tmp/composer\nRUN composer install && rm -rf /root/.composer \\\n"
            "    && composer clear-cache\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example('FROM php:8.3\nRUN COMPOSER_HOME="$(mktemp -d)" composer install\n', None),
        Example("FROM php:8.3\nRUN cd /app && (export COMPOSER_HOME=/tmp/c; composer install)\n", None),
        Example(
            "FROM composer:2\nRUN composer install --no-dev --prefer-dist\n",
            "FROM composer:2\nRUN composer install --no-dev --prefer-dist \\\n    && composer clear-cache\n",
            unsafe=True,
        ),
        Example(
            "FROM php:8.3\nENV COMPOSER_HOME=/tmp/composer\nRUN composer install\n",
            "FROM php:8.3\nENV COMPOSER_HOME=/tmp/composer\n"
            "RUN --mount=type=cache,target=/tmp/composer/cache composer install\n",
            unsafe=True,
        ),
        Example(
            "FROM php:8.3\nRUN COMPOSER_CACHE_DIR=/var/cache/composer composer install\n",
            "FROM php:8.3\n"
            "RUN --mount=type=cache,target=/var/cache/composer COMPOSER_CACHE_DIR=/var/cache/composer composer "
            "install\n",
            unsafe=True,
        ),
    )

    cleanup = "composer clear-cache"

    def creates_mess(self, command: SimpleCommand) -> bool:
        return composer_verb(command) in INSTALL_VERBS and "--no-cache" not in tool_and_arguments(command)[1]

    def gain(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Gain:
        required = [
            word
            for command in commands
            if composer_verb(command) == "require"
            for word in Invocation.of(command).arguments[(Invocation.of(command).verb_at or 0) + 1 :]
            if word is not None and not word.startswith("-")
        ]
        return package_cache_gain("composer", required)

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        seen = reading(stage, run).environments
        for position, command in enumerate(commands):
            if not self.creates_mess(command):
                continue
            folders = cache_folders(seen[position])
            if nested_location(commands) is not None:
                # the install may run where the nested setting applies: its removal is then written with the variable
                folders += ("$COMPOSER_CACHE_DIR", "$COMPOSER_HOME/cache")
            if folders == ("/dev/null",) or any(
                composer_verb(later) in CLEAR_VERBS for later in commands[position + 1 :]
            ):
                continue
            if not any(
                removed_after(stage, run, position, folder + "/files")
                or kept_out_by_mount(stage, run, folder + "/files")
                for folder in folders
            ):
                return False
        return True

    @property
    def cache_mount(self) -> CacheMount:
        return CacheMount(self.caches)

    def caches(
        self, stage: Stage, run: Instruction, commands: list[SimpleCommand]
    ) -> list[tuple[int, ToolCache]] | None:
        if nested_location(commands) is not None:
            return None
        return [(position, COMPOSER_CACHE) for position, command in enumerate(commands) if self.creates_mess(command)]

    def location_assignments(self, commands: list[SimpleCommand]) -> list[str]:
        """The `COMPOSER_HOME=...` / `COMPOSER_CACHE_DIR=...` prefixes of the first install, as written."""
        culprit = next(command for command in commands if self.creates_mess(command))
        return [word.text for word in culprit.assignments if word.text.partition("=")[0] in LOCATION_VARIABLES]

    def cleanup_command(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> str:
        """`composer clear-cache`, given the same cache location as the install when only the install was given it."""
        return " ".join([*self.location_assignments(commands), self.cleanup])

    def blocker(self, document: Document, stage: Stage, run: Instruction) -> str | None:
        nested = nested_location(list(run.shell_script.simple_commands()))
        if nested is not None:
            return (
                f"{nested} is set in a subshell or compound command, and where `composer clear-cache` would look "
                "cannot be read"
            )
        for assignment in self.location_assignments(list(run.shell_script.simple_commands())):
            name, _, value = assignment.partition("=")
            if "$(" in value or "`" in value:
                return f"{name} is computed for the install alone, and `composer clear-cache` would not find it"
        return None
