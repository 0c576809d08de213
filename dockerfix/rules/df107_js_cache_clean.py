"""DF107: clean the npm/yarn/pnpm cache in the RUN that installed."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation, shell_runs, stages_built_on, tool_and_arguments
from dockerfix.knowledge.cachemounts import (
    NPM_CACHE,
    PNPM_METADATA,
    PNPM_STORE,
    YARN_V1_CACHE,
    CacheMount,
    ToolCache,
    cache_handled,
    removal_cleanup,
    run_user,
    runs_as_root,
)
from dockerfix.knowledge.cacherules import AppendCleanupRule, package_cache_savings
from dockerfix.knowledge.cleanups import reading
from dockerfix.knowledge.gains import package_cache_gain
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange, Savings
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

# `pnpm fetch` is not among them: it fills the store for a later `pnpm install --offline`, which needs it
INSTALLS = {"npm": {"install", "i", "ci", "add"}, "yarn": {"install", "add"}, "pnpm": {"install", "i", "add"}}
CLEANUPS = {"npm": "npm cache clean --force", "yarn": "yarn cache clean"}
# The subcommands of `cache` that empty it: npm's documentation lists `clear` and `rm` as aliases of `clean`
CACHE_CLEANS = {"npm": {"clean", "clear", "rm"}, "yarn": {"clean"}}
# The cache folder whose removal after an install (`rm -rf /root/.npm`, `~/.npm`, `$HOME/.npm`) leaves none of it
REMOVABLE_CACHES = {"npm": NPM_CACHE, "yarn": YARN_V1_CACHE}
PNPM_CACHES = (PNPM_STORE, PNPM_METADATA)
# Where each tool leaves its cache when the RUN runs as root and nothing moves it.
ROOT_CACHES = {
    "npm": ("/root/.npm",),
    "yarn": ("/usr/local/share/.cache/yarn", "/root/.cache/yarn", "/root/.yarn"),
    "pnpm": ("/root/.local/share/pnpm/store", "/root/.cache/pnpm"),
}
ROOT_HOME = "/root/"
# Where a user other than root has its home when the Dockerfile does not say (`useradd -m`, `adduser`): what the
# fix declares it removes there, for `dockerfix verify`.
OTHER_HOMES = "/home/*/"


def tool(command: SimpleCommand) -> str | None:
    invocation = Invocation.of(command)
    name, arguments = invocation.tool, invocation.arguments
    if name not in INSTALLS:
        return None
    if invocation.verb is None:
        # a bare `yarn` (options only) installs
        return name if name == "yarn" and all(argument is not None for argument in arguments) else None
    if name == "pnpm" and "--offline" in arguments:
        return None  # it downloads nothing: the store it reads was filled before
    return name if invocation.verb in INSTALLS[name] else None


def cleans_cache(commands: list[SimpleCommand]) -> bool:
    """Whether `npm cache clean` (or its aliases `clear`, `rm`) or `yarn cache clean` is among the commands."""
    for command in commands:
        name, arguments = tool_and_arguments(command)
        if name in CACHE_CLEANS and "cache" in arguments and not CACHE_CLEANS[name].isdisjoint(arguments):
            return True
    return False


def cache_removed(stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
    """Whether the RUN removes the cache folder of every npm and yarn install after it (or mounts over it)."""
    located = [
        (position, REMOVABLE_CACHES[name])
        for position, command in enumerate(commands)
        if (name := tool(command)) in REMOVABLE_CACHES
    ]
    return all(cache_handled(stage, run, position, cache) for position, cache in located)


def offline_pnpm_later(document: Document, stage: Stage, run: Instruction) -> bool:
    """Whether a later RUN of the stage, or of a stage built on it, installs from pnpm's store with `--offline`:
    it needs the store this RUN fills."""
    for later_stage in (stage, *stages_built_on(document, stage)):
        for later, commands in shell_runs(later_stage):
            if (later_stage is not stage or later.index > run.index) and any(
                tool_and_arguments(command)[0] == "pnpm" and "--offline" in tool_and_arguments(command)[1]
                for command in commands
            ):
                return True
    return False


def prunes_store(command: SimpleCommand) -> bool:
    name, arguments = tool_and_arguments(command)
    return name == "pnpm" and arguments[:2] == ["store", "prune"]


def pnpm_positions(commands: list[SimpleCommand]) -> list[int]:
    return [position for position, command in enumerate(commands) if tool(command) == "pnpm"]


class JsCacheClean(AppendCleanupRule):
    """Clean the npm, yarn or pnpm cache in the RUN that installed packages.

    What it does
        Flags a RUN that installs with npm (`install`, `ci`), yarn (`install`, `add`, bare `yarn`) or pnpm (`install`,
        `i`, `add`; not `fetch`, whose store a later `pnpm install --offline` reads) and does not clean the cache (`npm
        cache clean`, or its aliases `clear` and `rm`; `yarn cache clean`; the removal of the cache folder, `rm -rf
        /root/.npm`, `~/.npm`, `$HOME/.npm`), and appends `npm cache clean --force`, `yarn cache clean`, or for pnpm the
        removal of its store and metadata cache (`rm -rf ~/.local/share/pnpm/store ~/.cache/pnpm`, or where `PNPM_HOME`,
        `npm_config_store_dir`, `XDG_DATA_HOME`, `npm_config_cache_dir`, `XDG_CACHE_HOME` put them). With `target =
        "buildkit"` (the default) the fix mounts a build cache over the cache folders instead: npm's `~/.npm` of root
        (or `npm_config_cache`), Yarn 1's `/usr/local/share/.cache/yarn` (or `YARN_CACHE_FOLDER`), pnpm's store and
        metadata cache. A yarn command is taken for Yarn 1 only when `YARN_CACHE_FOLDER` is set or it uses
        `--frozen-lockfile` (Yarn 2+ keeps its cache elsewhere and has no such flag); otherwise, for a RUN as another
        user, and for a RUN that removes or moves a cache folder or a folder above it (the mount point could not be
        removed: the build would fail), the cleanup is appended. A RUN that mounts or removes pnpm's store is left
        alone, and so is one followed by `pnpm store prune`; a pnpm install whose store a later `pnpm install --offline`
        reads is reported, not fixed. The fix names the caches of the tools the RUN runs, in the home of the user it
        runs as: under a non-root USER that user's (`~/.npm`), never root's. The gain is npm's cache measured for the
        packages the RUN names (`knowledge.gains.package_cache_gain`); unknown for a lockfile install and for yarn's and
        pnpm's caches, which were not measured.

    Why
        npm and yarn keep a copy of every downloaded package (`~/.npm`, yarn's cache folder) next to
        `node_modules`, which roughly doubles what the install adds to the image. pnpm hard-links `node_modules`
        to its store, so the store's files cost no second copy, but its index and its registry metadata cache do
        (4.7 MB over a 3.0 MB `node_modules` for express installed from its lockfile, measured in decisions);
        with BuildKit the store mounted as a cache also spares the next build the downloads, as pnpm's Docker
        guide recommends.

    Example
        RUN yarn install --frozen-lockfile
        becomes (target = "buildkit")
        RUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile
        or (target = "legacy")
        RUN yarn install --frozen-lockfile \\
            && yarn cache clean

    Fix safety
        Unsafe: it removes the package cache from the image (either fix; the mount needs BuildKit). RUNs that
        mount a cache for it are left alone. With pnpm's store mounted, `node_modules` holds copies instead of hard
        links (the same files); a `.npmrc` that sets `store-dir` or the global virtual store is not read.
    """

    code = "DF107"
    tools = tuple(INSTALLS)
    opt_in = True  # failed the blind review of sample B (docs/expert-review.md)
    layer_rule = True
    buildkit_syntax = "`RUN --mount=type=cache` over npm's, Yarn 1's or pnpm's cache"
    name = "js-cache-clean"
    summary = "npm/yarn/pnpm installs leave their download cache in the layer."
    hadolint = ("DL3060",)
    cached_paths = tuple(path for paths in ROOT_CACHES.values() for path in paths)
    valid = (
        "FROM node:20\nRUN yarn install --frozen-lockfile && yarn cache clean\n",
        "FROM node:20\nRUN npm ci && npm cache clean --force\n",
        "FROM node:20\nRUN --mount=type=cache,target=/root/.npm npm ci\n",
        "FROM node:20\nRUN npm run build\n",
        "FROM node:20\nENV npm_config_cache=/var/cache/npm\nRUN --mount=type=cache,target=/var/cache/npm npm ci\n",
        "FROM node:20\nENV PNPM_HOME=/pnpm\n"
        "RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile\n",
        "FROM node:20 AS base\nENV PNPM_HOME=/pnpm\nUSER node\nFROM base\n"
        "RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install\n",
        "FROM node:20\nRUN pnpm install --frozen-lockfile && rm -rf ~/.local/share/pnpm/store\n",
        "FROM node:20\nRUN pnpm install --frozen-lockfile --prod && pnpm store prune\n",
        "FROM node:20\nRUN pnpm fetch --prod\nCOPY . .\nRUN pnpm install --offline --prod\n",
        "FROM node:20\nUSER node\nRUN --mount=type=cache,target=/home/node/.local/share/pnpm/store pnpm install\n",
        "FROM node:20\nRUN pnpm run build\n",
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
        Example(
            "FROM node:20\nRUN pnpm install --frozen-lockfile\n",
            "FROM node:20\n"
            "RUN --mount=type=cache,target=/root/.local/share/pnpm/store --mount=type=cache,target=/root/.cache/pnpm "
            "pnpm install --frozen-lockfile\n",
            unsafe=True,
        ),
        Example(
            "FROM node:20\nRUN pnpm install --frozen-lockfile\n",
            "FROM node:20\nRUN pnpm install --frozen-lockfile \\\n"
            "    && rm -rf /root/.local/share/pnpm/store /root/.cache/pnpm\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM node:20\nENV PNPM_HOME=/pnpm XDG_CACHE_HOME=/var/cache\nRUN npm i -g pnpm && pnpm i\n",
            "FROM node:20\nENV PNPM_HOME=/pnpm XDG_CACHE_HOME=/var/cache\nRUN --mount=type=cache,target=/root/.npm "
            "--mount=type=cache,target=/pnpm/store --mount=type=cache,target=/var/cache/pnpm npm i -g pnpm && pnpm i\n",
            unsafe=True,
        ),
        Example(
            "FROM node:20\nENV PNPM_HOME=/pnpm\nUSER 1000\nRUN pnpm add left-pad\n",
            "FROM node:20\nENV PNPM_HOME=/pnpm\nUSER 1000\nRUN pnpm add left-pad \\\n"
            "    && rm -rf /pnpm/store ~/.cache/pnpm\n",
            unsafe=True,
        ),
        Example(
            "FROM node:20\nUSER node\nRUN pnpm install\n",
            "FROM node:20\nUSER node\nRUN pnpm install \\\n    && rm -rf ~/.local/share/pnpm/store ~/.cache/pnpm\n",
            unsafe=True,
        ),
        Example("FROM node:20\nRUN pnpm install\nRUN pnpm install --offline --prod\n", None),
        Example('FROM node:20\nRUN PNPM_HOME="$(mktemp -d)" pnpm install\n', None),
    )

    def creates_mess(self, command: SimpleCommand) -> bool:
        return tool(command) is not None

    def savings(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Savings:
        # only npm's cache was measured: yarn's and pnpm's gains are unknown (package_cache_gain says so)
        installs = [command for command in commands if tool(command) is not None]
        if all(tool(command) == "npm" for command in installs):
            return package_cache_savings("npm", [Invocation.of(command) for command in installs])
        others = sorted({str(tool(command)) for command in installs} - {"npm"})
        return Savings.of(package_cache_gain(others[0], ()))

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        """The caches of the tools the RUN runs, in the home of the user it runs as: a RUN as another user than
        root leaves them in that user's home, not root's."""
        used = dict.fromkeys(name for command in commands if (name := tool(command)))
        paths = [path for name in used for path in ROOT_CACHES[name]]
        if not runs_as_root(stage, run):
            paths = [OTHER_HOMES + path.removeprefix(ROOT_HOME) for path in paths if path.startswith(ROOT_HOME)]
        return ContentChange(removes=tuple(paths))

    def cleared_folders(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> tuple[str, ...]:
        removes = self.content_change(stage, run, commands).removes
        if runs_as_root(stage, run):
            return removes
        user = (run_user(stage, run) or "").partition(":")[0]
        return (", ".join(f"~/{path.removeprefix(OTHER_HOMES)}" for path in removes) + f" of user {user}",)

    @property
    def cache_mount(self) -> CacheMount:
        return CacheMount(self.caches)

    def caches(
        self, stage: Stage, run: Instruction, commands: list[SimpleCommand]
    ) -> list[tuple[int, ToolCache]] | None:
        found = []
        for position, command in enumerate(commands):
            name = tool(command)
            if name == "npm":
                found.append((position, NPM_CACHE))
            elif name == "pnpm":
                found.extend((position, cache) for cache in PNPM_CACHES)
            elif name == "yarn":
                yarn_v1 = (
                    "--frozen-lockfile" in tool_and_arguments(command)[1]
                    or "YARN_CACHE_FOLDER" in reading(stage, run).environments[position]
                )
                if not yarn_v1:
                    return None
                found.append((position, YARN_V1_CACHE))
        return found

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        """pnpm's part is clean when its store is mounted or removed (pnpm's Docker guide mounts the store alone), or
        `pnpm store prune` follows (pnpm 10's empties the metadata cache, the bulk of what an install leaves); npm's
        and yarn's when their cache is cleaned, removed or mounted."""
        pnpm_clean = all(
            cache_handled(stage, run, position, PNPM_STORE)
            or any(prunes_store(later) for later in commands[position + 1 :])
            for position in pnpm_positions(commands)
        )
        others = any(tool(command) in CLEANUPS for command in commands)
        return pnpm_clean and (
            not others
            or cleans_cache(commands)
            or cache_removed(stage, run, commands)
            or self.cache_mount.already_mounted(stage, run, commands)
        )

    def blocker(self, document: Document, stage: Stage, run: Instruction) -> str | None:
        positions = pnpm_positions(list(run.shell_script.simple_commands()))
        if not positions:
            return None
        if offline_pnpm_later(document, stage, run):
            return "a later `pnpm install --offline` reads the store this RUN fills"
        return self.pnpm_removal(document, stage, run, positions)[1]

    def pnpm_removal(
        self, document: Document, stage: Stage, run: Instruction, positions: list[int]
    ) -> tuple[str, str | None]:
        return removal_cleanup(
            document, stage, run, [(position, cache) for position in positions for cache in PNPM_CACHES]
        )

    def cleanup_command(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> str:
        used = dict.fromkeys(name for command in commands if (name := tool(command)))
        parts = [CLEANUPS[name] for name in used if name in CLEANUPS]
        if "pnpm" in used:
            parts.append(self.pnpm_removal(document, stage, run, pnpm_positions(commands))[0])
        return " && ".join(parts)
