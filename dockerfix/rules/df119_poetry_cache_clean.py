"""DF119: remove Poetry's download caches in the RUN that installed."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.cachemounts import (
    POETRY_ARTIFACTS,
    POETRY_HTTP_CACHE,
    CacheMount,
    ToolCache,
    cache_handled,
    removal_cleanup,
)
from dockerfix.knowledge.cacherules import AppendCleanupRule
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

INSTALL_VERBS = {"install", "add", "update", "sync"}
POETRY_CACHES = (POETRY_HTTP_CACHE, POETRY_ARTIFACTS)


POETRY = ("poetry",)


def installs(command: SimpleCommand) -> bool:
    return Invocation.of(command).runs(POETRY, INSTALL_VERBS)


class PoetryCacheClean(AppendCleanupRule):
    """Remove Poetry's HTTP cache and downloaded archives in the RUN that installed, or mount them with BuildKit.

    What it does
        Flags a RUN that runs `poetry install` (or `add`, `update`, `sync`) and leaves Poetry's caches in the
        layer: the `cache/` and `artifacts/` folders of its cache folder (`~/.cache/pypoetry`, or
        `$POETRY_CACHE_DIR`, or `$XDG_CACHE_HOME/pypoetry`). The fix appends their removal
        (`rm -rf /root/.cache/pypoetry/cache /root/.cache/pypoetry/artifacts`); with `target = "buildkit"` (the
        default) it mounts a build cache over both instead, when they are certain (root, or a numeric USER with a
        variable naming the folder). Never the whole cache folder: Poetry creates its virtualenvs in
        `virtualenvs/` there unless told otherwise, and they are the installed packages. Cleanup already there
        counts: a removal of those folders or of a folder above them (`rm -rf $POETRY_CACHE_DIR`), or a mount.
        `poetry cache clear` does not: it leaves `artifacts/`.

    Why
        Poetry keeps every wheel and source archive it downloaded in `artifacts/` and the index responses in
        `cache/`; `--no-cache` only stops it reading them (it still writes `artifacts/`, measured in decisions).

    Example
        RUN poetry install --no-root --only main
        becomes (target = "buildkit")
        RUN --mount=type=cache,target=/root/.cache/pypoetry/cache --mount=type=cache,target=/root/.cache/pypoetry/artifacts poetry install --no-root --only main
        or (target = "legacy")
        RUN poetry install --no-root --only main \\
            && rm -rf /root/.cache/pypoetry/cache /root/.cache/pypoetry/artifacts

    Gain
        Unknown: the size of Poetry's cache after the install was not measured, so the finding says so instead
        of a number (it is reported, marked unknown).

    Fix safety
        Unsafe: it removes Poetry's caches from the image (either fix; the mount needs BuildKit). A `cache-dir` set
        in `poetry.toml` or Poetry's config file is not read (the removal then removes nothing).
    """  # noqa: E501 (the example keeps the one line the fix writes)

    code = "DF119"
    tools = POETRY
    layer_rule = True
    buildkit_syntax = "`RUN --mount=type=cache` over Poetry's cache and artifacts"
    name = "poetry-cache-clean"
    summary = "poetry installs leave their download cache and archives in the layer."
    cached_paths = ("/root/.cache/pypoetry/cache", "/root/.cache/pypoetry/artifacts")
    valid = (
        "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pypoetry poetry install --no-root\n",
        "FROM python:3.12\nENV POETRY_CACHE_DIR=/tmp/poetry_cache\n"
        "RUN poetry install --no-root && rm -rf $POETRY_CACHE_DIR\n",
        "FROM python:3.12\nRUN poetry install && rm -rf ~/.cache/pypoetry/cache ~/.cache/pypoetry/artifacts\n",
        "FROM python:3.12\nRUN poetry export -f requirements.txt -o requirements.txt && poetry --version\n",
        "FROM python:3.12\n"
        "RUN --mount=type=cache,target=/root/.cache/pypoetry/cache "
        "--mount=type=cache,target=/root/.cache/pypoetry/artifacts "
        "poetry install\n",
        "FROM python:3.12\nUSER app\nRUN --mount=type=cache,target=/home/app/.cache/pypoetry/cache "
        "--mount=type=cache,target=/home/app/.cache/pypoetry/artifacts poetry install\n",
    )
    invalid = (
        Example(
            "FROM python:3.12\nRUN poetry install --no-root --only main\n",
            "FROM python:3.12\n"
            "RUN --mount=type=cache,target=/root/.cache/pypoetry/cache "
            "--mount=type=cache,target=/root/.cache/pypoetry/artifacts "
            "poetry install --no-root --only main\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nRUN poetry install --no-root --only main\n",
            "FROM python:3.12\nRUN poetry install --no-root --only main \\\n"
            "    && rm -rf /root/.cache/pypoetry/cache /root/.cache/pypoetry/artifacts\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM python:3.12\nENV POETRY_CACHE_DIR=/tmp/poetry_cache POETRY_VIRTUALENVS_IN_PROJECT=1\nUSER 1000\n"
            "RUN poetry install\n",
            "FROM python:3.12\nENV POETRY_CACHE_DIR=/tmp/poetry_cache POETRY_VIRTUALENVS_IN_PROJECT=1\nUSER 1000\n"
            "RUN --mount=type=cache,target=/tmp/poetry_cache/cache,uid=1000,gid=1000 "
            "--mount=type=cache,target=/tmp/poetry_cache/artifacts,uid=1000,gid=1000 poetry install\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nUSER app\nRUN poetry add requests\n",
            "FROM python:3.12\nUSER app\nRUN poetry add requests \\\n"
            "    && rm -rf ~/.cache/pypoetry/cache ~/.cache/pypoetry/artifacts\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nENV XDG_CACHE_HOME=/var/cache\nRUN poetry install && poetry cache clear --all -n pypi\n",
            "FROM python:3.12\nENV XDG_CACHE_HOME=/var/cache\n"
            "RUN poetry install && poetry cache clear --all -n pypi \\\n"
            "    && rm -rf /var/cache/pypoetry/cache /var/cache/pypoetry/artifacts\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example('FROM python:3.12\nRUN POETRY_CACHE_DIR="$(mktemp -d)" poetry install\n', None),
    )

    def creates_mess(self, command: SimpleCommand) -> bool:
        return installs(command)

    def positions(self, commands: list[SimpleCommand]) -> list[int]:
        return [position for position, command in enumerate(commands) if installs(command)]

    @property
    def cache_mount(self) -> CacheMount:
        return CacheMount(self.caches)

    def caches(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> list[tuple[int, ToolCache]]:
        return [(position, cache) for position in self.positions(commands) for cache in POETRY_CACHES]

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        return all(cache_handled(stage, run, position, cache) for position, cache in self.caches(stage, run, commands))

    def cleanup_command(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> str:
        return removal_cleanup(document, stage, run, self.caches(stage, run, commands))[0]

    def blocker(self, document: Document, stage: Stage, run: Instruction) -> str | None:
        commands = list(run.shell_script.simple_commands())
        return removal_cleanup(document, stage, run, self.caches(stage, run, commands))[1]
