"""DF105: `pip install --no-cache-dir`."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.cachemounts import PIP_CACHE, CacheMount, ToolCache
from dockerfix.knowledge.cleanups import env_set_before
from dockerfix.knowledge.runedit import AddFlagRule
from dockerfix.rewriter.document import Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

PIP = ("pip", "pip3", "pip2")


class PipNoCacheDir(AddFlagRule):
    """Install Python packages with `pip install --no-cache-dir`.

    What it does
        Flags `pip install` (also `pip3`, `python -m pip`) without `--no-cache-dir` and adds the flag after
        `install`, unless the stage sets `PIP_NO_CACHE_DIR` or the RUN mounts a cache over pip's cache folder. With
        `target = "buildkit"` (the default) the fix mounts a build cache over pip's cache folder instead
        (`~/.cache/pip` of root, or where `PIP_CACHE_DIR` / `XDG_CACHE_HOME` put it): the image loses the cache
        all the same and the next build reuses the downloads. A RUN as another user, or whose cache folder cannot
        be read, gets the flag.

    Why
        pip keeps every downloaded wheel in `~/.cache/pip`; in an image that cache is dead weight, often as big as the
        installed packages themselves.

    Example
        RUN pip install -r requirements.txt
        becomes (target = "buildkit")
        RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
        or (target = "legacy")
        RUN pip install --no-cache-dir -r requirements.txt

    Fix safety
        Unsafe: the image no longer contains pip's cache folder (either fix; the mount needs BuildKit). With
        `--mount=type=cache` on pip's cache the flag would defeat the mount, so those RUNs are left alone.
    """

    code = "DF105"
    layer_rule = True
    buildkit_syntax = "`RUN --mount=type=cache` over pip's cache"
    name = "pip-no-cache-dir"
    summary = "pip install without --no-cache-dir keeps pip's download cache in the image."
    hadolint = ("DL3042",)
    flag = "--no-cache-dir"
    effect = "pip's download cache (~/.cache/pip) is no longer written into the image"
    cached_paths = ("/root/.cache", "~/.cache", "/home")
    valid = (
        "FROM python:3.12\nRUN pip install --no-cache-dir flask\n",
        "FROM python:3.12\nRUN pip install --no-cache flask\n",
        "FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN pip install flask\n",
        "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n",
        "FROM python:3.12\nRUN pip --version\n",
        "FROM python:3.12\nENV PIP_CACHE_DIR=/var/cache/pip\n"
        "RUN --mount=type=cache,target=/var/cache/pip pip install flask\n",
    )
    invalid = (
        Example(
            "FROM python:3.12\nRUN pip install -r requirements.txt\n",
            "FROM python:3.12\nRUN pip install --no-cache-dir -r requirements.txt\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM python:3.12\nRUN python3 -m pip install -U pip && pip3 install flask\n",
            "FROM python:3.12\nRUN python3 -m pip install --no-cache-dir -U pip && pip3 install --no-cache-dir flask\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM python:3.12\nRUN python3 -m pip install -U pip && pip3 install flask\n",
            "FROM python:3.12\n"
            "RUN --mount=type=cache,target=/root/.cache/pip python3 -m pip install -U pip && pip3 install flask\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nENV PIP_CACHE_DIR=/var/cache/pip\nUSER 1000:1000\nRUN pip install flask\n",
            "FROM python:3.12\nENV PIP_CACHE_DIR=/var/cache/pip\nUSER 1000:1000\n"
            "RUN --mount=type=cache,target=/var/cache/pip,uid=1000,gid=1000 pip install flask\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12 AS base\nUSER app\nFROM base\nRUN pip install flask\n",
            "FROM python:3.12 AS base\nUSER app\nFROM base\nRUN pip install --no-cache-dir flask\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nUSER app\nRUN pip install --user flask\n",
            "FROM python:3.12\nUSER app\nRUN pip install --no-cache-dir --user flask\n",
            unsafe=True,
        ),
    )

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        return ContentChange(removes=("/root/.cache",))

    def wants_flag(self, invocation: Invocation) -> bool:
        return invocation.runs(PIP, ("install",))

    def has_flag(self, arguments: list[str | None]) -> bool:
        # pip's option parser takes any unambiguous abbreviation: `--no-cache` is `--no-cache-dir`
        return any(
            argument is not None and argument.startswith("--no-cache") and self.flag.startswith(argument)
            for argument in arguments
        )

    @property
    def cache_mount(self) -> CacheMount:
        return CacheMount(self.caches)

    def caches(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> list[tuple[int, ToolCache]]:
        return [
            (position, PIP_CACHE)
            for position, command in enumerate(commands)
            if self.wants_flag(Invocation.of(command)) and not self.has_flag(Invocation.of(command).arguments)
        ]

    def exempt(self, stage: Stage, run: Instruction) -> bool:
        return env_set_before(stage, run, "PIP_NO_CACHE_DIR") or self.cache_mount.already_mounted(
            stage, run, list(run.shell_script.simple_commands())
        )
