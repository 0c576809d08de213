"""DF105: `pip install --no-cache-dir`."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.baseimages import resolved_reference
from dockerfix.knowledge.cachemounts import PIP_CACHE, CacheMount, ToolCache, cache_handled
from dockerfix.knowledge.cacherules import AddFlagRule, package_cache_savings
from dockerfix.knowledge.cleanups import env_set_before, reading
from dockerfix.knowledge.dependencies import install_operands
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange, Savings
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand
from dockerfix.rewriter.stages import base_stages

PIP = ("pip", "pip3", "pip2")
SETTING = "PIP_NO_CACHE_DIR"
# Official images whose ENV is known and sets no pip setting: the python image's Dockerfiles set PATH, LANG, GPG_KEY,
# PYTHON_VERSION, PYTHON_SHA256 and PYTHONIOENCODING, nothing else (docker-library/python at 4f070595, 2026-06-23).
BASE_IMAGES_WITHOUT_PIP_SETTINGS = frozenset({"python"})


def installs_local_wheels_only(invocation: Invocation) -> bool:
    """`pip install --no-index` of wheel files on disk and nothing else: nothing is downloaded and nothing is built,
    so pip writes nothing to its cache (`--no-index` also turns off its version check, pip's only other cache
    write). `--find-links` may offer a dependency as an sdist to build, so with it `--no-deps` is needed too."""
    arguments = invocation.after_verb
    operands = install_operands("pip", invocation)
    finds_links = any(
        argument is not None and argument.partition("=")[0] in ("-f", "--find-links") for argument in arguments
    )
    return (
        "--no-index" in arguments
        and bool(operands)
        and all(operand.endswith(".whl") and "://" not in operand for operand in operands or ())
        and (not finds_links or "--no-deps" in arguments)
    )


class PipNoCacheDir(AddFlagRule):
    """Install Python packages with `pip install --no-cache-dir`.

    What it does
        Flags `pip install` (also `pip3`, `python -m pip`) without `--no-cache-dir` and adds the flag after
        `install`, unless `PIP_NO_CACHE_DIR` is set (by ENV or ARG in the stage, by ENV in a stage it is built on,
        or in the RUN before the command; pip disables its cache for any value), the RUN mounts a cache over pip's
        cache folder or removes it after the install (`rm -rf /root/.cache`, `~/.cache/pip`). An install of wheel
        files on disk with `--no-index` (`pip install --no-index --no-deps /wheels/*.whl`) downloads and builds
        nothing, so writes no cache: it is not flagged. A base image may set `PIP_NO_CACHE_DIR` too: the data knows
        the official python image's ENV (it sets none); on any other base image the message says the claim depends
        on it. With `target = "buildkit"` (the default) the fix mounts a build cache over pip's cache folder
        instead (`~/.cache/pip` of root, or where `PIP_CACHE_DIR` / `XDG_CACHE_HOME` put it): the image loses the
        cache all the same and the next build reuses the downloads. A RUN as another user, or whose cache folder
        cannot be read, or that removes or moves it (the mount point could not be removed), gets the flag.

    Why
        pip keeps every downloaded wheel in `~/.cache/pip`; in an image that cache is dead weight, often as big as the
        installed packages themselves. The gain is pip's cache measured for the packages the RUN names
        (`knowledge.gains.package_cache_gain`), unknown when it installs from a requirements file or a path.

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
    tools = PIP
    opt_in = True  # failed the blind review of sample B (docs/expert-review.md)
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
        "FROM python:3.12\nARG PIP_NO_CACHE_DIR=1\nRUN pip install flask\n",
        "FROM python:3.12 AS base\nENV PIP_NO_CACHE_DIR=off\nFROM base\nRUN pip install flask\n",
        "FROM python:3.12\nRUN export PIP_NO_CACHE_DIR=1 && pip install flask\n",
        "FROM python:3.12\nRUN PIP_NO_CACHE_DIR=1 pip install flask\n",
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

    def savings(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Savings:
        return package_cache_savings("pip", [Invocation.of(command) for command in self.uncached(commands)])

    def uncached(self, commands: list[SimpleCommand]) -> list[SimpleCommand]:
        """The pip installs that write pip's cache."""
        return [
            command
            for command in commands
            if self.wants_flag(Invocation.of(command)) and not self.has_flag(Invocation.of(command).arguments)
        ]

    def set_by_base(self, document: Document, stage: Stage) -> bool:
        # ENV persists into the stages built on it; ARG does not
        return any(
            instruction.cmd == "env" and SETTING in instruction.value[0::2]
            for base in base_stages(document, stage)
            for instruction in base.instructions
        )

    def depends_on_base(self, document: Document, stage: Stage) -> str | None:
        root = (base_stages(document, stage) or (stage,))[-1]
        reference = resolved_reference(document, root)
        if reference is not None and reference.official_name in BASE_IMAGES_WITHOUT_PIP_SETTINGS:
            return None
        return f"unless the base image sets {SETTING}, which this file does not show"

    def exempt_command(self, stage: Stage, run: Instruction, position: int) -> bool:
        return SETTING in reading(stage, run).environments[position] or cache_handled(stage, run, position, PIP_CACHE)

    def wants_flag(self, invocation: Invocation) -> bool:
        return invocation.runs(PIP, ("install",)) and not installs_local_wheels_only(invocation)

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
        uncached = self.uncached(commands)
        return [(position, PIP_CACHE) for position, command in enumerate(commands) if command in uncached]

    def exempt(self, stage: Stage, run: Instruction) -> bool:
        return env_set_before(stage, run, SETTING) or self.cache_mount.already_mounted(
            stage, run, list(run.shell_script.simple_commands())
        )
