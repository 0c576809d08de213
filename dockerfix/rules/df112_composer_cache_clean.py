"""DF112: clear Composer's cache in the RUN that installed."""

from __future__ import annotations

from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

from .runedit import AppendCleanupRule, env_set_before, tool_and_arguments, verb_index

INSTALL_VERBS = {"install", "require", "update", "create-project"}


def composer_verb(command: SimpleCommand) -> str | None:
    name, arguments = tool_and_arguments(command)
    if name not in ("composer", "composer.phar"):
        return None
    index = verb_index(arguments)
    return None if index is None else arguments[index]


class ComposerCacheClean(AppendCleanupRule):
    """Clear Composer's download cache in the RUN that installed PHP packages.

    What it does
        Flags a RUN that runs `composer install` (or `require`, `update`, `create-project`) without
        `--no-cache` and without `composer clear-cache`, and appends `composer clear-cache`.

    Why
        Composer keeps every downloaded archive in its cache folder (`~/.composer/cache` or `$COMPOSER_HOME/cache`);
        in an image it is dead weight next to `vendor/`.

    Example
        RUN composer install --no-dev --prefer-dist
        becomes
        RUN composer install --no-dev --prefer-dist \\
            && composer clear-cache

    Fix safety
        Unsafe: it removes Composer's cache from the image. Not fixed when the stage sets `COMPOSER_CACHE_DIR` (the
        cache may live elsewhere on purpose); left alone when the RUN mounts a cache there.
    """

    code = "DF112"
    layer_rule = True
    name = "composer-cache-clean"
    summary = "composer installs leave their download cache in the layer."
    cached_paths = ("/root/.composer", "/tmp/composer", "/root/.cache/composer")
    valid = (
        "FROM composer:2\nRUN composer install --no-dev && composer clear-cache\n",
        "FROM composer:2\nRUN composer install --no-cache\n",
        "FROM composer:2\nRUN composer --version\n",
    )
    invalid = (
        Example(
            "FROM composer:2\nRUN composer install --no-dev --prefer-dist\n",
            "FROM composer:2\nRUN composer install --no-dev --prefer-dist \\\n    && composer clear-cache\n",
            unsafe=True,
        ),
    )

    cleanup = "composer clear-cache"

    def creates_mess(self, command: SimpleCommand) -> bool:
        return composer_verb(command) in INSTALL_VERBS and "--no-cache" not in tool_and_arguments(command)[1]

    def already_clean(self, commands: list[SimpleCommand]) -> bool:
        return any(composer_verb(command) in ("clear-cache", "clearcache", "cc") for command in commands)

    def blocker(self, document: Document, stage: Stage, run: Instruction) -> str | None:
        return "COMPOSER_CACHE_DIR is set" if env_set_before(stage, run, "COMPOSER_CACHE_DIR") else None
