"""DF201: copy dependency manifests and install before copying the source."""

from __future__ import annotations

import posixpath
from typing import Iterator

from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, Edit, Finding, Savings
from dockerfix.rewriter.rule import Example, Rule, RuleContext

from .ecosystems import Install, recognise
from .runedit import shell_runs, workdir_at
from .shellfacts import Role, role

WHOLE_CONTEXT = {".", "./"}
# installs that provably leave their manifests untouched (otherwise the later source COPY would undo the change)
FROZEN_FLAGS = {"npm": None, "yarn": {"--frozen-lockfile", "--immutable"}, "pnpm": {"--frozen-lockfile"}}


def steps_from(stage: Stage, first: Instruction) -> int:
    """Build steps (RUN, COPY, ADD) from ``first`` to the end of the stage: what a change to the files ``first``
    copies makes BuildKit run again."""
    return sum(1 for i in stage.instructions if i.index >= first.index and i.cmd in ("run", "copy", "add"))


def source_copy(instruction: Instruction) -> bool:
    return (
        instruction.cmd in ("copy", "add")
        and instruction.flag("from") is None
        and len(instruction.value) == 2
        and instruction.value[0] in WHOLE_CONTEXT
    )


class DependencyManifestsFirst(Rule):
    """Copy the dependency manifests and install before copying the source.

    What it does
        Finds `COPY . <dest>` directly followed by a RUN that only installs dependencies (pip `-r` files, npm/yarn/
        pnpm, Bundler, `go mod download`, Composer with `--no-scripts --no-autoloader`, `mvn dependency:go-offline`)
        and rewrites it to: copy the manifests, install, then copy the rest. Flags (`--chown`, `--chmod`, `--link`) and
        the destination are kept. With a build context it names only manifests that exist there and are not
        ignored, follows `-r` includes, and refuses when the install needs more than the manifests: local paths,
        workspaces, install scripts, a `node_modules` or `vendor/bundle` the source COPY would lay over the install.

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

    Fix safety
        Safe when the build context shows the manifests exist and nothing else is read, and the install cannot modify
        a manifest (`npm ci`, `yarn --frozen-lockfile`, pip, `go mod download`, ...). Unsafe without a context
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
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD [\"python\", \"app.py\"]\n",
            "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt\nCOPY . .\nCMD [\"python\", \"app.py\"]\n",
            context={"requirements.txt": "flask==3.0.3\n", "app.py": "print(1)\n"},
        ),
        Example(
            "FROM node:20-slim\nWORKDIR /srv\n# the app\nCOPY --chown=node:node . .\nRUN npm ci --omit=dev\n",
            "FROM node:20-slim\nWORKDIR /srv\nCOPY --chown=node:node package.json package-lock.json* npm-shrinkwrap.json* ./\nRUN npm ci --omit=dev\n# the app\nCOPY --chown=node:node . .\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
            None,
            context={"requirements.txt": "-e .\nflask\n", "setup.py": "...\n"},
        ),
        Example(
            "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN go build -o /app .",
            "FROM golang:1.22\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN go build -o /app .",
            context={"go.mod": "module x\n", "go.sum": "", "main.go": "package main\n"},
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        build_context = context.build_context
        for stage in document.stages:
            runs = {run.index: commands for run, commands in shell_runs(stage)}
            instructions = list(stage.instructions)
            for copy, run in zip(instructions, instructions[1:]):
                if not source_copy(copy) or run.index not in runs or run.heredocs:
                    continue
                installs = [recognise(command, build_context) for command in runs[run.index]]
                found = [install for install in installs if install is not None]
                others = [c for c, i in zip(runs[run.index], installs) if i is None and role(c.name_literal, c.argument_literals) is not Role.CLEANUP]
                if not found or others or len({install.ecosystem for install in found}) != 1:
                    continue
                before = steps_from(stage, copy)
                message = f"a source edit re-runs the dependency install: {before} steps, {before - 1} after copying the manifests first"
                reason = next((install.needs_more for install in found if install.needs_more), None) or self.misplaced(stage, copy, run)
                if reason is not None:
                    yield self.finding(f"{message} (not fixed automatically: {reason})", copy.start, run.header_end)
                    continue
                manifests, proven = self.manifests(found, build_context)
                if manifests is None:
                    continue
                frozen = all(self.frozen(install, run) for install in found)
                applicability = Applicability.SAFE if proven and frozen else Applicability.UNSAFE
                fix = self.fix(
                    f"Copy {', '.join(manifests)} and install before copying the source",
                    self.edits(document, copy, run, manifests),
                    applicability,
                )
                yield self.finding(message, copy.start, run.header_end, fix, Savings(rebuilt_steps_after_source_edit=1))

    @staticmethod
    def misplaced(stage: Stage, copy: Instruction, run: Instruction) -> str | None:
        """Why the install's working folder may not be where the source lands."""
        destination = copy.value[-1]
        if destination in WHOLE_CONTEXT:
            return None
        workdir = workdir_at(stage, run)
        if workdir is None or posixpath.normpath(posixpath.join(workdir, destination)) != workdir:
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
        return required + [name for name in optional if context.exists(name)], True

    @staticmethod
    def edits(document: Document, copy: Instruction, run: Instruction, manifests: list[str]) -> list[Edit]:
        newline = document.source.newline
        flags = "".join(f"{flag.text} " for flag in copy.flags)
        destination = copy.value[-1]
        folders: dict[str, list[str]] = {}
        for name in manifests:
            folders.setdefault(posixpath.dirname(name), []).append(name)
        lines = []
        for folder, names in folders.items():
            target = posixpath.join(destination.rstrip("/") if destination not in WHOLE_CONTEXT else ".", folder) if folder else (
                "./" if destination in WHOLE_CONTEXT else destination.rstrip("/")
            )
            lines.append(f"{copy.keyword if copy.cmd == 'copy' else 'COPY'} {flags}{' '.join(names)} {target.rstrip('/')}/{newline}")
        moved_start = run.leading_comments[0].line.start if run.leading_comments else run.span[0]
        moved = document.text[moved_start:run.span[1]]
        if moved.endswith("\n"):
            deletion = Edit.delete(moved_start, run.span[1])
        else:  # the RUN ends the file without a line ending: so will the source COPY
            moved += newline
            deletion = Edit.delete(copy.lines[-1].content_end, run.span[1])
        insert_at = copy.leading_comments[0].line.start if copy.leading_comments else copy.span[0]
        return [Edit.insert(insert_at, "".join(lines) + moved), deletion]
