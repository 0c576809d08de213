"""DF107: clean the npm/yarn cache in the RUN that installed."""

from __future__ import annotations

from dockerfix.rewriter.document import Instruction, Stage
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

from dockerfix.knowledge.cachemounts import NPM_CACHE, YARN_V1_CACHE, CacheMountFix, ToolCache
from dockerfix.knowledge.cleanups import reading
from dockerfix.knowledge.runedit import AppendCleanupRule, tool_and_arguments, verb_index

INSTALLS = {"npm": {"install", "i", "ci", "add"}, "yarn": {"install", "add"}}
CLEANUPS = {"npm": "npm cache clean --force", "yarn": "yarn cache clean"}


def tool(command: SimpleCommand) -> str | None:
    name, arguments = tool_and_arguments(command)
    if name not in INSTALLS:
        return None
    index = verb_index(arguments)
    if index is None:
        # a bare `yarn` (options only) installs
        return name if name == "yarn" and all(argument is not None for argument in arguments) else None
    return name if arguments[index] in INSTALLS[name] else None


class JsCacheClean(CacheMountFix, AppendCleanupRule):
    """Clean the npm or yarn cache in the RUN that installed packages.

    What it does
        Flags a RUN that installs with npm (`install`, `ci`) or yarn (`install`, `add`, bare `yarn`) and does not
        clean the cache, and appends `npm cache clean --force` or `yarn cache clean`. With `target = "buildkit"`
        (the default) the fix mounts a build cache over the cache folder instead: npm's `~/.npm` of root (or
        `npm_config_cache`), Yarn 1's `/usr/local/share/.cache/yarn` (or `YARN_CACHE_FOLDER`). A yarn command is
        taken for Yarn 1 only when `YARN_CACHE_FOLDER` is set or it uses `--frozen-lockfile` (Yarn 2+ keeps its
        cache elsewhere and has no such flag); otherwise, and for a RUN as another user, the cleanup is appended.

    Why
        Both keep a copy of every downloaded package (`~/.npm`, yarn's cache folder) next to `node_modules`, which
        roughly doubles what the install adds to the image.

    Example
        RUN yarn install --frozen-lockfile
        becomes (target = "buildkit")
        RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile
        or (target = "legacy")
        RUN yarn install --frozen-lockfile \\
            && yarn cache clean

    Fix safety
        Unsafe: it removes the package cache from the image (either fix; the mount needs BuildKit). RUNs that
        mount a cache for it are left alone.
    """

    code = "DF107"
    layer_rule = True
    buildkit_syntax = "`RUN --mount=type=cache` over npm's or Yarn 1's cache"
    name = "js-cache-clean"
    summary = "npm/yarn installs leave their download cache in the layer."
    hadolint = ("DL3060",)
    cached_paths = ("/root/.npm", "/usr/local/share/.cache/yarn", "/root/.cache/yarn", "/root/.yarn")
    valid = (
        "FROM node:20\nRUN yarn install --frozen-lockfile && yarn cache clean\n",
        "FROM node:20\nRUN npm ci && npm cache clean --force\n",
        "FROM node:20\nRUN --mount=type=cache,target=/root/.npm npm ci\n",
        "FROM node:20\nRUN npm run build\n",
        "FROM node:20\nENV npm_config_cache=/var/cache/npm\nRUN --mount=type=cache,target=/var/cache/npm npm ci\n",
    )
    invalid = (
        Example(
            "FROM node:20\nRUN yarn install --frozen-lockfile\n",
            "FROM node:20\nRUN yarn install --frozen-lockfile \\\n    && yarn cache clean\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM node:20\nRUN npm ci --omit=dev\n",
            "FROM node:20\nRUN npm ci --omit=dev \\\n    && npm cache clean --force\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM node:20\nRUN yarn install --frozen-lockfile\n",
            "FROM node:20\nRUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile\n",
            unsafe=True,
        ),
        Example(
            "FROM node:20\nRUN npm ci --omit=dev\n",
            "FROM node:20\nRUN --mount=type=cache,target=/root/.npm npm ci --omit=dev\n",
            unsafe=True,
        ),
        Example(
            "FROM node:20\nRUN yarn install --immutable\n",
            "FROM node:20\nRUN yarn install --immutable \\\n    && yarn cache clean\n",
            unsafe=True,
        ),
        Example(
            "FROM node:20\nUSER node\nRUN npm ci\n",
            "FROM node:20\nUSER node\nRUN npm ci \\\n    && npm cache clean --force\n",
            unsafe=True,
        ),
    )

    def creates_mess(self, command: SimpleCommand) -> bool:
        return tool(command) is not None

    def caches(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> list[tuple[int, ToolCache]] | None:
        found = []
        for position, command in enumerate(commands):
            name = tool(command)
            if name == "npm":
                found.append((position, NPM_CACHE))
            elif name == "yarn":
                yarn_v1 = "--frozen-lockfile" in tool_and_arguments(command)[1] or "YARN_CACHE_FOLDER" in reading(stage, run).environments[position]
                if not yarn_v1:
                    return None
                found.append((position, YARN_V1_CACHE))
        return found

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        return self.already_clean(commands) or self.already_mounted(stage, run, commands)

    def already_clean(self, commands: list[SimpleCommand]) -> bool:
        for command in commands:
            name, arguments = tool_and_arguments(command)
            if name in CLEANUPS and "cache" in arguments and ("clean" in arguments or "rm" in arguments):
                return True
        return False

    def cleanup_for(self, commands: list[SimpleCommand]) -> str:
        return CLEANUPS[next(name for command in commands if (name := tool(command)))]
