"""DF116: remove the download and build folder `pecl install` leaves in /tmp/pear."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.cacherules import AppendCleanupRule
from dockerfix.knowledge.cleanups import kept_out_by_mount, removed_after
from dockerfix.rewriter.document import Instruction, Stage
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

# PEAR's default download_dir and temp_dir are /tmp/pear/download and /tmp/pear/temp (`pecl config-show`).
PEAR_FOLDER = "/tmp/pear"
PEAR_TEMP_FILE = "/tmp/pear/temp/package.xml"


PECL = ("pecl", "pear")


def pecl_install(command: SimpleCommand) -> bool:
    return Invocation.of(command).runs(PECL, ("install", "upgrade"))


class PeclTempLeftBehind(AppendCleanupRule):
    """Remove /tmp/pear in the RUN that ran `pecl install`.

    What it does
        Flags a RUN that runs `pecl install` (or `pear install`, `upgrade`) and does not remove `/tmp/pear` after it
        (`rm -rf /tmp/pear`, `rm -rf /tmp/*`, a `--mount` over /tmp, ...), and appends `rm -rf /tmp/pear`.

    Why
        pecl downloads each extension's archive to `/tmp/pear/download` and builds it in `/tmp/pear/temp`: sources,
        object files and a copy of the built module, megabytes per extension the image never uses once the module is
        installed. The official php images remove it in the same RUN (`rm -r /tmp/pear`); removed in a later RUN it
        still weighs in the image.

    Example
        RUN pecl install redis && docker-php-ext-enable redis
        becomes
        RUN pecl install redis && docker-php-ext-enable redis \\
            && rm -rf /tmp/pear

    Gain
        Unknown: the size of pecl's temporary build folder was not measured, so the finding says so instead of a
        number (it is reported, marked unknown).

    Fix safety
        Unsafe: it removes files from the image (pecl's downloads and build folders, which it re-creates when it
        runs again).
    """

    code = "DF116"
    tools = PECL
    name = "pecl-temp-left-behind"
    summary = "pecl install leaves its downloads and build folders in /tmp/pear."
    layer_rule = True
    cleanup = f"rm -rf {PEAR_FOLDER}"
    cached_paths = (PEAR_FOLDER,)
    valid = (
        "FROM php:8.3\nRUN set -eux; pecl install imagick-3.8.1; docker-php-ext-enable imagick; rm -r /tmp/pear\n",
        "FROM php:8.3\nRUN pecl install redis && rm -rf /tmp/pear ~/.pearrc\n",
        "FROM php:8.3\nRUN pecl install redis && rm -rf /tmp/*\n",
        "FROM php:8.3\nRUN --mount=type=tmpfs,target=/tmp pecl install redis\n",
        "FROM php:8.3\nRUN pecl list\n",
    )
    invalid = (
        Example(
            "FROM php:8.3\nRUN pecl install redis && docker-php-ext-enable redis\n",
            "FROM php:8.3\nRUN pecl install redis && docker-php-ext-enable redis \\\n    && rm -rf /tmp/pear\n",
            unsafe=True,
        ),
        Example(
            "FROM php:8.3\nRUN rm -rf /tmp/pear; yes '' | pecl install xdebug\n",
            "FROM php:8.3\nRUN rm -rf /tmp/pear; yes '' | pecl install xdebug \\\n    && rm -rf /tmp/pear\n",
            unsafe=True,
        ),
    )

    def creates_mess(self, command: SimpleCommand) -> bool:
        return pecl_install(command)

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        last_install = max(position for position, command in enumerate(commands) if pecl_install(command))
        return removed_after(stage, run, last_install, PEAR_TEMP_FILE) or kept_out_by_mount(stage, run, PEAR_TEMP_FILE)

    def message(self, cleanup: str) -> str:
        return f"pecl leaves its downloads and build folders in /tmp/pear; `{cleanup}` in the same RUN removes them"
