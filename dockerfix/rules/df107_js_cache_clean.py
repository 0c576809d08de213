"""DF107: clean the npm/yarn cache in the RUN that installed."""

from __future__ import annotations

from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

from .runedit import AppendCleanupRule, tool_and_arguments, verb_index

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


class JsCacheClean(AppendCleanupRule):
    """Clean the npm or yarn cache in the RUN that installed packages.

    What it does
        Flags a RUN that installs with npm (`install`, `ci`) or yarn (`install`, `add`, bare `yarn`) and does not
        clean the cache, and appends `npm cache clean --force` or `yarn cache clean`.

    Why
        Both keep a copy of every downloaded package (`~/.npm`, yarn's cache folder) next to `node_modules`, which
        roughly doubles what the install adds to the image.

    Example
        RUN yarn install --frozen-lockfile
        becomes
        RUN yarn install --frozen-lockfile \\
            && yarn cache clean

    Fix safety
        Unsafe: it removes the package cache from the image. RUNs that mount a cache for it are left alone.
    """

    code = "DF107"
    layer_rule = True
    name = "js-cache-clean"
    summary = "npm/yarn installs leave their download cache in the layer."
    hadolint = ("DL3060",)
    cached_paths = ("/root/.npm", "/usr/local/share/.cache/yarn", "/root/.cache/yarn", "/root/.yarn")
    valid = (
        "FROM node:20\nRUN yarn install --frozen-lockfile && yarn cache clean\n",
        "FROM node:20\nRUN npm ci && npm cache clean --force\n",
        "FROM node:20\nRUN --mount=type=cache,target=/root/.npm npm ci\n",
        "FROM node:20\nRUN npm run build\n",
    )
    invalid = (
        Example(
            "FROM node:20\nRUN yarn install --frozen-lockfile\n",
            "FROM node:20\nRUN yarn install --frozen-lockfile \\\n    && yarn cache clean\n",
            unsafe=True,
        ),
        Example(
            "FROM node:20\nRUN npm ci --omit=dev\n",
            "FROM node:20\nRUN npm ci --omit=dev \\\n    && npm cache clean --force\n",
            unsafe=True,
        ),
    )

    def creates_mess(self, command: SimpleCommand) -> bool:
        return tool(command) is not None

    def already_clean(self, commands: list[SimpleCommand]) -> bool:
        for command in commands:
            name, arguments = tool_and_arguments(command)
            if name in CLEANUPS and "cache" in arguments and ("clean" in arguments or "rm" in arguments):
                return True
        return False

    def cleanup_for(self, commands: list[SimpleCommand]) -> str:
        return CLEANUPS[next(name for command in commands if (name := tool(command)))]
