"""DF201: copy dependency manifests and install before copying the source."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from msgspec import Struct
from msgspec.structs import replace

from dockerfix.knowledge.analysis import WHOLE_CONTEXT, shell_runs, source_copies, steps_from, verb_index, workdir_at
from dockerfix.knowledge.ecosystems import Install, recognise
from dockerfix.knowledge.shelledits import insert_after
from dockerfix.knowledge.shellfacts import Role, command_role, manager_of
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, Edit, Finding, Fix, Savings
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand

# installs that provably leave their manifests untouched (otherwise the later source COPY would undo the change)
FROZEN_FLAGS = {
    "npm": None,
    "yarn": {"--frozen-lockfile", "--immutable"},
    "pnpm": {"--frozen-lockfile"},
    "uv": {"--frozen", "--locked"},
    "pipenv": {"--deploy", "--ignore-pipfile", "sync"},
    "mix": {"--check-locked"},
}


def system_package_step(command: SimpleCommand) -> bool:
    """An OS package-manager command (apt, apk, yum, zypper) or a removal of its files: it does not read the source."""
    manager = manager_of(command.name_literal)
    if manager is not None:
        return manager.name in ("apt", "apk", "yum", "zypper")
    return command.name_literal == "rm" and all(
        a is not None and a.startswith(("-", "/var/", "/tmp/")) for a in command.argument_literals
    )


def _inside(path: str, root: str) -> str | None:
    """``path`` relative to the folder ``root`` (both absolute), or None when it lies outside."""
    relative = posixpath.relpath(posixpath.normpath(path), root)
    return None if relative == "." or relative.startswith("../") or relative == ".." else relative


def relative_to(install: Install | None, root: str) -> Install | None:
    """The install with its absolute manifest paths inside ``root`` named relative to it, as the context names them;
    one outside makes the install need more than the copied manifests."""
    if install is None:
        return None
    names = [_inside(name, root) if name.startswith("/") else name for name in install.manifests]
    optional = [_inside(name, root) if name.startswith("/") else name for name in install.optional]
    if None in names or None in optional:
        return replace(install, needs_more=install.needs_more or f"it reads a manifest outside {root}")
    return replace(
        install,
        manifests=tuple(name for name in names if name is not None),
        optional=tuple(name for name in optional if name is not None),
    )


def _after_verb(run: Instruction, command: SimpleCommand, text: str) -> Edit:
    """Insert ``text`` after the verb of an install the rule recognised (by its verb, so a literal word)."""
    verb = verb_index(command.argument_literals)
    assert verb is not None, "a recognised install has its verb"
    return insert_after(run, command, verb, text)


def installs_alone(run: Instruction, commands: list[SimpleCommand], installs: list[Install | None]) -> bool:
    """Whether the RUN installs the dependencies of one ecosystem with nothing but cleanup beside (each command's
    install, None for one that is not), and no heredoc."""
    others = [
        command
        for command, install in zip(commands, installs, strict=True)
        if install is None and command_role(command) is not Role.CLEANUP
    ]
    return (
        not others and len({install.ecosystem for install in installs if install is not None}) == 1 and not run.heredocs
    )


class Reorder(Struct, frozen=True):
    """A source COPY and the dependency install after it, to reorder; ``not_fixed`` says why it is only reported."""

    copy: Instruction
    install_run: Instruction
    commands: list[SimpleCommand]
    installs: list[Install | None]  # per command
    before: int  # steps a source edit re-runs now
    after: int  # and once reordered
    not_fixed: str | None

    @property
    def found(self) -> list[Install]:
        return [install for install in self.installs if install is not None]

    @property
    def split(self) -> list[tuple[SimpleCommand, Install]]:
        """The installs that install the dependencies first and the project after the source (`install.split`)."""
        return [
            (command, install)
            for command, install in zip(self.commands, self.installs, strict=True)
            if install is not None and install.split
        ]

    @property
    def message(self) -> str:
        if self.split:
            return (
                f"a source edit re-runs the whole dependency install ({self.before} steps); with the dependencies "
                f"installed from the manifests first, {self.after} steps re-run and the install among them only "
                "installs the project"
            )
        return (
            f"a source edit re-runs the dependency install: {self.before} steps, {self.after} after copying "
            "the manifests first"
        )


class AbsoluteView:
    """The build context as seen from an image whose folder ``root`` holds a copy of it: `/root/x` is the context's
    `x`; anything else is not there."""

    def __init__(self, context: BuildContext, root: str) -> None:
        self.context = context
        self.root = root

    @property
    def has_contents(self) -> bool:
        return self.context.has_contents

    def _path(self, path: str) -> str | None:
        return _inside(path, self.root) if path.startswith("/") else None

    def exists(self, path: str) -> bool:
        inside = self._path(path)
        return inside is not None and self.context.exists(inside)

    def read_text(self, path: str, limit: int = 1_000_000) -> str | None:
        inside = self._path(path)
        return None if inside is None else self.context.read_text(inside, limit)

    def glob(self, pattern: str) -> tuple[str, ...]:
        inside = self._path(pattern)
        return () if inside is None else tuple(posixpath.join(self.root, found) for found in self.context.glob(inside))


class _Installs(dict[int, list[Install | None]]):
    """The dependency install each command of a shell RUN is (``recognise``), by the RUN's index, read the first time
    the rule asks of that RUN: it asks of the RUNs right after a source COPY, and of the earlier ones only for a
    reorder it plans (recognising may read manifests from the build context, once per command)."""

    def __init__(self, runs: dict[int, list[SimpleCommand]], build_context: BuildContext | None) -> None:
        super().__init__()
        self.runs = runs
        self.build_context = build_context

    def __missing__(self, index: int) -> list[Install | None]:
        found = self[index] = [recognise(command, self.build_context) for command in self.runs.get(index, ())]
        return found


class DependencyManifestsFirst(Rule):
    """Copy the dependency manifests and install before copying the source.

    What it does
        Finds `COPY . <dest>` followed in the same stage by a RUN that only installs dependencies (pip `-r` files,
        Pipenv, Poetry, uv, npm/yarn/pnpm, Bundler, `go mod download`, Composer, `mvn dependency:go-offline`, `gradle
        dependencies`, `mix deps.get`, `dotnet restore` of a single project) and rewrites it to: copy the manifests,
        install, then copy the rest. An install that also installs the project itself (`poetry install`, `uv sync`,
        `composer install` with scripts or autoloader) is split: it runs first with the option that leaves the project
        out (`--no-root`, `--no-install-project`, `--no-scripts --no-autoloader`), and again, unchanged, after the
        source COPY. `cargo fetch` is reported: Cargo cannot read a manifest without its source targets.
        An install that names its manifests by absolute path inside the folder the source is copied to (`COPY .
        /home/app/`, `pip install -r /home/app/requirements.txt`) gets them copied to the same place first, whatever
        the working folder. Instructions in between keep their order (a RUN among them must be system package
        management, which cannot read the source). Flags (`--chown`, `--chmod`, `--link`) and the destination are
        kept. With a build context it names only manifests that exist there and are not ignored, follows `-r`
        includes, and refuses when the install needs more than the manifests: local paths, workspaces, install scripts,
        or what the install writes in its folder (`node_modules`, `.venv`, `vendor`, ...) present in the context, which
        the source COPY would lay over it.

    Why
        BuildKit re-runs every step after the first one whose input changed. With the source copied first, editing any
        source file re-installs every dependency; with the manifests first, the install stays cached until they change.

    Example
        COPY . .
        RUN pip install -r requirements.txt
        becomes
        COPY requirements.txt ./
        RUN pip install -r requirements.txt
        COPY . .

    Gain
        Build steps a source edit re-runs before and after the fix (the dependency install no longer re-runs);
        no byte claim.

    Fix safety
        Safe when the build context shows the manifests exist and nothing else is read, and the install cannot modify
        a manifest (`npm ci`, `yarn --frozen-lockfile`, `uv sync --locked`, pip, `go mod download`, ...). A split
        install is unsafe (it rests on the tool installing the same set in two runs). Unsafe without a context
        (standard manifest names, optional ones copied with a `*` so a missing lockfile does not fail the build) or
        when the install may rewrite its lockfile. Reported without a fix when the install reads more.
    """

    code = "DF201"
    name = "dependency-manifests-first"
    summary = "Copying the source before installing dependencies re-installs them on every code edit."
    valid = (
        "FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n",
        "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n",
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n",
    )
    invalid = (
        Example(
            "FROM python:3.12\nCOPY . /app\nWORKDIR /app\nRUN apt-get update && apt-get install -y gcc\n"
            "RUN pip install -r requirements.txt\n",
            "FROM python:3.12\nCOPY requirements.txt /app/\nWORKDIR /app\n"
            "RUN apt-get update && apt-get install -y gcc\nRUN pip install -r requirements.txt\nCOPY . /app\n",
            context={"requirements.txt": "numpy\n"},
        ),
        Example(
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
            'CMD ["python", "app.py"]\n',
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt\n"
            'COPY . .\nCMD ["python", "app.py"]\n',
            context={"requirements.txt": "flask==3.0.3\n", "app.py": "print(1)\n"},
        ),
        Example(
            "FROM node:20-slim\nWORKDIR /srv\n# the app\nCOPY --chown=node:node . .\nRUN npm ci --omit=dev\n",
            "FROM node:20-slim\nWORKDIR /srv\n"
            "COPY --chown=node:node package.json package-lock.json* npm-shrinkwrap.json* ./\nRUN npm ci --omit=dev\n"
            "# the app\nCOPY --chown=node:node . .\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
            None,
            context={"requirements.txt": "-e .\nflask\n", "setup.py": "...\n"},
        ),
        Example(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN ./configure\nRUN pip install -r requirements.txt\n", None
        ),
        Example(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN poetry install --no-root --no-interaction\n"
            "RUN poetry install --only-root\n",
            "FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\n"
            "RUN poetry install --no-root --no-interaction\nCOPY . .\nRUN poetry install --only-root\n",
            context={"pyproject.toml": "[tool.poetry]\n", "poetry.lock": "", "app.py": ""},
        ),
        Example(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen\n",
            "FROM python:3.12\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\n"
            "RUN uv sync --no-install-project --frozen\nCOPY . .\nRUN uv sync --frozen\n",
            unsafe=True,
            context={"pyproject.toml": "[project]\nname = 'app'\n", "uv.lock": "", "app.py": ""},
        ),
        Example(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN uv sync --frozen\n",
            None,
            context={"pyproject.toml": "[tool.uv.workspace]\nmembers = ['packages/*']\n", "uv.lock": ""},
        ),
        Example(
            "FROM composer:2\nWORKDIR /app\nCOPY . .\nRUN composer install --no-dev\n",
            "FROM composer:2\nWORKDIR /app\nCOPY composer.json composer.lock ./\n"
            "RUN composer install --no-scripts --no-autoloader --no-dev\nCOPY . .\nRUN composer install --no-dev\n",
            unsafe=True,
            context={"composer.json": "{}", "composer.lock": "{}", "index.php": ""},
        ),
        Example(
            "FROM rust:1.80\nWORKDIR /src\nCOPY . .\nRUN cargo fetch\nRUN cargo build --release\n",
            None,
            context={"Cargo.toml": "", "src/main.rs": ""},
        ),
        Example(
            "FROM gradle:8.10-jdk21\nWORKDIR /app\nCOPY . .\nRUN gradle dependencies\n",
            None,
            context={"build.gradle": "", "settings.gradle": "include(':core', ':web')\n"},
        ),
        Example(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN uv sync --locked\n",
            None,
            context={"pyproject.toml": "[project]\nname = 'app'\n", "uv.lock": "", ".venv/pyvenv.cfg": ""},
        ),
        Example(
            "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY . .\nRUN dotnet restore\n"
            "RUN dotnet publish -c Release -o /out\n",
            "FROM mcr.microsoft.com/dotnet/sdk:8.0\nWORKDIR /src\nCOPY api.csproj NuGet.config ./\n"
            "RUN dotnet restore\nCOPY . .\nRUN dotnet publish -c Release -o /out\n",
            context={
                "api.csproj": '<Project Sdk="Microsoft.NET.Sdk"/>\n',
                "NuGet.config": "<configuration/>\n",
                "Program.cs": "",
            },
        ),
        Example(
            "FROM python:3.12\nCOPY . /home/app/\nRUN pip install -r /home/app/requirements.txt\n"
            'CMD ["python", "/home/app/main.py"]\n',
            "FROM python:3.12\nCOPY requirements.txt /home/app/\nCOPY requirements/base.txt /home/app/requirements/\n"
            "RUN pip install -r /home/app/requirements.txt\nCOPY . /home/app/\n"
            'CMD ["python", "/home/app/main.py"]\n',
            context={
                "requirements.txt": "-r requirements/base.txt\n",
                "requirements/base.txt": "flask\n",
                "main.py": "",
            },
        ),
        Example(
            "FROM python:3.12\nCOPY . /home/app\nRUN pip install -r /home/app/requirements.txt\n",
            None,
            context={"requirements.txt": "-e .\n", "setup.py": ""},
        ),
        Example(
            "FROM python:3.12\nCOPY . /home/app\nRUN pip install -r /srv/requirements.txt\n",
            None,
            context={"requirements.txt": "flask\n"},
        ),
        Example(
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN go build -o /app .",
            "FROM golang:1.22\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n"
            "RUN go build -o /app .",
            context={"go.mod": "module x\n", "go.sum": "", "main.go": "package main\n"},
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        build_context = context.build_context
        for stage in document.stages:
            copies = source_copies(stage)
            if not copies:
                continue
            runs = {run.index: commands for run, commands in shell_runs(stage)}
            recognised = _Installs(runs, build_context)
            for copy in copies:
                plan = self.plan(stage, copy, list(stage.following(copy)), runs, recognised, build_context)
                if plan is not None:
                    yield from self.report(document, plan, build_context)

    def plan(
        self,
        stage: Stage,
        copy: Instruction,
        following: list[Instruction],
        runs: dict[int, list[SimpleCommand]],
        recognised: _Installs,
        build_context: BuildContext | None,
    ) -> Reorder | None:
        """The reorder of the source COPY and the dependency install after it, with why it is not fixed (if so);
        None when no install of one ecosystem alone follows, or the stage installed those dependencies before."""
        install_run, gap = self.install_after(following, recognised)
        if install_run is None:
            return None
        commands = runs[install_run.index]
        root, installs = self.read_where_copied(copy, commands, recognised[install_run.index], build_context)
        found = [install for install in installs if install is not None]
        if not installs_alone(install_run, commands, installs) or self.installed_before(
            copy, recognised, found[0].ecosystem
        ):
            return None
        before = steps_from(stage, copy)
        split = any(install is not None and install.split for install in installs)
        after = before - 1 - sum(1 for i in gap if i.cmd == "run") + (1 if split else 0)
        not_fixed = (
            next((install.needs_more for install in found if install.needs_more), None)
            or self.gap_blocker(gap, runs)
            or (None if root is not None else self.misplaced(stage, copy, install_run, gap))
        )
        return Reorder(copy, install_run, commands, installs, before, after, not_fixed)

    def report(self, document: Document, plan: Reorder, build_context: BuildContext | None) -> Iterator[Finding]:
        savings = Savings.rebuilt_steps(plan.before, plan.after)
        start, end = plan.copy.start, plan.install_run.header_end
        if plan.not_fixed is not None:
            yield self.finding(
                f"{plan.message} (not fixed automatically: {plan.not_fixed})", start, end, savings=savings
            )
            return
        manifests, proven = self.manifests(plan.found, build_context)
        if manifests is not None:
            yield self.finding(plan.message, start, end, self.reorder_fix(document, plan, manifests, proven), savings)

    def reorder_fix(self, document: Document, plan: Reorder, manifests: list[str], proven: bool) -> Fix:
        """The manifests copied and the install run before the source COPY; a split install also after it, for
        the project alone."""
        frozen = all(self.frozen(install, plan.install_run) for install in plan.found)
        edits = self.edits(document, plan.copy, plan.install_run, manifests, rerun=bool(plan.split))
        title = f"Copy {', '.join(manifests)} and install before copying the source"
        if plan.split:
            options = " ".join(dict.fromkeys(option for _, install in plan.split for option in install.split))
            edits += [
                _after_verb(plan.install_run, command, " ".join(install.split)) for command, install in plan.split
            ]
            title = (
                f"Copy {', '.join(manifests)} and install the dependencies ({options}) before copying the "
                "source, the project after it"
            )
        return self.fix(
            title, edits, Applicability.SAFE if proven and frozen and not plan.split else Applicability.UNSAFE
        )

    @classmethod
    def read_where_copied(
        cls,
        copy: Instruction,
        commands: list[SimpleCommand],
        installs: list[Install | None],
        build_context: BuildContext | None,
    ) -> tuple[str | None, list[Install | None]]:
        """An install naming its manifests by absolute path reads them where the source COPY put the context: that
        folder, and the installs read again through it (relative to it); else None and the installs as they are."""
        root = cls.absolute_root(copy, [install for install in installs if install is not None])
        if root is None:
            return None, installs
        view = AbsoluteView(build_context, root) if build_context is not None else None
        return root, [relative_to(recognise(command, view), root) for command in commands]

    @staticmethod
    def install_after(
        following: list[Instruction], recognised: _Installs
    ) -> tuple[Instruction | None, list[Instruction]]:
        """The first RUN after the source COPY with a dependency install, and the instructions in between."""
        gap: list[Instruction] = []
        for instruction in following:
            if instruction.cmd in ("copy", "add", "from", "volume", "onbuild"):
                return None, []
            if instruction.cmd == "run" and any(recognised[instruction.index]):
                return instruction, gap
            gap.append(instruction)
        return None, []

    @staticmethod
    def absolute_root(copy: Instruction, found: list[Install]) -> str | None:
        """The absolute folder the source COPY fills, when every manifest the install names is an absolute path
        inside it (`COPY . /home/app/` then `pip install -r /home/app/requirements.txt`)."""
        destination = copy.value[-1]
        names = [name for install in found for name in install.manifests + install.optional]
        if not destination.startswith("/") or "$" in destination or not names:
            return None
        root = posixpath.normpath(destination)
        return root if all(name.startswith("/") and _inside(name, root) is not None for name in names) else None

    @staticmethod
    def installed_before(copy: Instruction, recognised: _Installs, ecosystem: str) -> bool:
        """Whether the stage already installed this ecosystem's dependencies before the source COPY (the install
        after it is then the project's own, as this rule's split leaves it)."""
        return any(
            install is not None and install.ecosystem == ecosystem
            for index in recognised.runs
            if index < copy.index
            for install in recognised[index]
        )

    @staticmethod
    def gap_blocker(gap: list[Instruction], runs: dict[int, list]) -> str | None:
        """Instructions between the source COPY and the install keep their order; a RUN among them then runs
        without the source, which is only certain to be harmless for system package management."""
        for instruction in gap:
            if instruction.cmd != "run":
                continue
            commands = runs.get(instruction.index)
            if commands is None or not all(system_package_step(command) for command in commands):
                return (
                    f"the RUN on line {instruction.start_line} runs between the COPY and the install and may read "
                    "the source"
                )
        return None

    @staticmethod
    def misplaced(stage: Stage, copy: Instruction, run: Instruction, gap: list[Instruction]) -> str | None:
        """Why the install's working folder may not be where the source lands."""
        destination = copy.value[-1]
        if destination in WHOLE_CONTEXT and not any(i.cmd == "workdir" for i in gap):
            return None
        base = "/" if destination.startswith("/") else workdir_at(stage, copy)
        workdir = workdir_at(stage, run)
        if base is None or workdir is None or posixpath.normpath(posixpath.join(base, destination)) != workdir:
            return "the install does not run in the folder the source is copied to"
        return None

    @staticmethod
    def frozen(install: Install, run: Instruction) -> bool:
        if install.ecosystem in FROZEN_FLAGS:
            words = set(run.arguments.split())
            flags = FROZEN_FLAGS[install.ecosystem]
            return ("ci" in words) if flags is None else bool(flags & words)
        return install.ecosystem != "bundler"

    @staticmethod
    def manifests(found: list[Install], context: BuildContext | None) -> tuple[list[str] | None, bool]:
        """The files to copy first, and whether the context proves them; None when a required one is missing."""
        required = list(dict.fromkeys(name for install in found for name in install.manifests))
        optional = list(dict.fromkeys(name for install in found for name in install.optional))
        if any(" " in name or "$" in name or name.startswith("/") or ".." in name for name in required + optional):
            return None, False
        if context is None:
            return required + [f"{name}*" for name in optional], False
        if not all(context.exists(name) for name in required):
            return None, False
        # names alone (a file list) cannot show that the install reads nothing else
        return required + [name for name in optional if context.exists(name)], context.has_contents

    @staticmethod
    def edits(document: Document, copy: Instruction, run: Instruction, manifests: list[str], rerun: bool) -> list[Edit]:
        """The source COPY becomes a COPY of the manifests, and moves (with its comments) to after the install;
        with ``rerun`` the install's RUN, as it was, follows it."""
        newline = document.source.newline
        flags = "".join(f"{flag.text} " for flag in copy.flags)
        destination = copy.value[-1]
        keyword = copy.keyword if copy.cmd == "copy" else "COPY"
        folders: dict[str, list[str]] = {}
        for name in manifests:
            folders.setdefault(posixpath.dirname(name), []).append(name)
        lines = []
        for folder, names in folders.items():
            base = "." if destination in WHOLE_CONTEXT else destination.rstrip("/")
            target = posixpath.join(base, folder) if folder else base
            lines.append(f"{keyword} {flags}{' '.join(names)} {target}/{newline}")
        copy_start = copy.leading_comments[0].line.start if copy.leading_comments else copy.span[0]
        moved = document.text[copy_start : copy.span[1]]
        if rerun:
            moved += document.text[run.span[0] : run.span[1]]
            if not moved.endswith("\n"):
                moved += newline
        if document.text[run.span[0] : run.span[1]].endswith("\n"):
            insertion = moved
        else:  # the RUN ends the file without a line ending: so will the moved COPY
            insertion = newline + moved[: len(moved) - len(newline)] if moved.endswith(newline) else newline + moved
        return [Edit(copy_start, copy.span[1], "".join(lines)), Edit.insert(run.span[1], insertion)]
