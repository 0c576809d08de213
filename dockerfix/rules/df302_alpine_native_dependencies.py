"""DF302: an Alpine (musl) base image for dependencies known to need glibc or to compile."""

from __future__ import annotations

from collections.abc import Iterator

from dockerfix.knowledge.analysis import shell_runs
from dockerfix.knowledge.baseimages import (
    identify,
    image_span,
    native_entry,
    resolved_reference,
    uses_package_manager,
    variants,
)
from dockerfix.knowledge.dependencies import declared, install_command
from dockerfix.rewriter.document import Document
from dockerfix.rewriter.fixes import Applicability, Edit, Finding
from dockerfix.rewriter.rule import Example, Rule, RuleContext

ECOSYSTEM_OF_FAMILY = {"python": "python", "node": "node", "golang": "go", "ruby": "ruby", "php": "php"}
# Commands whose Alpine (BusyBox, apk) syntax differs from Debian's: a stage using them cannot simply switch.
ALPINE_ONLY_COMMANDS = ("apk", "adduser", "addgroup")


class AlpineNativeDependencies(Rule):
    """Do not use Alpine for dependencies that need glibc or compile native code.

    What it does
        For a stage on the Alpine variant of python, node, golang, ruby or php, it reads the project's dependency
        declarations from the build context (requirements*.txt, pyproject.toml, Pipfile, `install_requires` of
        setup.py read statically, package.json, go.mod, Gemfile, composer.json with its `ext-*` extensions) and the
        packages named on install commands (docker-php-ext-install and pecl for PHP extensions), and flags those
        known to publish glibc-only binaries or to build from source on musl (tensorflow, torch, psycopg2,
        puppeteer, canvas, go-sqlite3, pg, oci8, ...). The fix switches to the family's Debian-based slim tag of
        the same version (for php the same version and flavour: `8.3-fpm-alpine` becomes `8.3-fpm`).

    Why
        Alpine uses musl instead of glibc. Python's manylinux wheels and most prebuilt native binaries are built for
        glibc: on Alpine pip compiles from source (slow, needs a toolchain, often fails) or finds nothing to
        install, and glibc binaries such as Chromium do not run. The slim Debian variant is only somewhat larger.

    Example
        FROM python:3.12-alpine
        RUN pip install tensorflow
        becomes
        FROM python:3.12-slim
        RUN pip install tensorflow

    Gain
        No byte claim (the Debian-based image is larger): the claim is that the dependencies install and run,
        which is not a size or cache claim. Reported by default only when selected by its exact code (`--select
        DF302`).

    Fix safety
        Unsafe: the C library and every system package change. Not fixed when the stage uses Alpine's own tools
        (`apk`, BusyBox `adduser`/`addgroup`), whose commands do not exist or differ on Debian, or when the tag is
        set through an ARG.
    """

    code = "DF302"
    name = "alpine-native-dependencies"
    summary = "Alpine's musl breaks dependencies that ship glibc binaries or need compiling."
    valid = (
        "FROM python:3.12-alpine\nRUN pip install flask\n",
        "FROM python:3.12-slim\nRUN pip install tensorflow\n",
        "FROM node:20-alpine\nRUN npm ci\n",
        "FROM php:8.3-fpm-alpine\nRUN docker-php-ext-install -j$(nproc) pdo_mysql intl\n",
    )
    invalid = (
        Example(
            "FROM python:3.12-alpine\nRUN pip install tensorflow\n",
            "FROM python:3.12-slim\nRUN pip install tensorflow\n",
            unsafe=True,
        ),
        Example(
            "FROM python:3.12-alpine\nRUN apk add --no-cache gcc musl-dev postgresql-dev && pip install psycopg2\n",
            None,
        ),
        Example(
            "FROM node:20-alpine3.19\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
            "FROM node:20-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
            unsafe=True,
            context={"package.json": '{"dependencies": {"puppeteer": "^22.0.0"}}\n'},
        ),
        Example(
            "FROM python:3.11-alpine\nCOPY . /src\nRUN pip install /src\n",
            "FROM python:3.11-slim\nCOPY . /src\nRUN pip install /src\n",
            unsafe=True,
            context={
                "setup.py": "from setuptools import setup\nsetup(name='x', install_requires=['torch>=2', 'numpy'])\n"
            },
        ),
        Example(
            "FROM php:8.3-cli-alpine\nCOPY --from=composer:2 /usr/bin/composer /usr/bin/\nWORKDIR /app\nCOPY . .\n"
            "RUN composer install --no-dev\n",
            "FROM php:8.3-cli\nCOPY --from=composer:2 /usr/bin/composer /usr/bin/\nWORKDIR /app\nCOPY . .\n"
            "RUN composer install --no-dev\n",
            unsafe=True,
            context={"composer.json": '{"require": {"php": ">=8.2", "h4cc/wkhtmltopdf-amd64": "^0.12"}}\n'},
        ),
        Example(
            "FROM php:8.3-fpm-alpine\nRUN apk add --no-cache libnsl && docker-php-ext-install -j$(nproc) oci8\n", None
        ),
        Example(
            "FROM golang:1.22-alpine\nCOPY . .\nRUN go build -o /app .\n",
            "FROM golang:1.22\nCOPY . .\nRUN go build -o /app .\n",
            unsafe=True,
            context={"go.mod": "module x\n\nrequire github.com/mattn/go-sqlite3 v1.14.22\n"},
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in document.stages:
            reference = resolved_reference(document, stage)
            identified = identify(reference) if reference else None
            if (
                reference is None
                or identified is None
                or identified.variant.name != "alpine"
                or identified.family not in ECOSYSTEM_OF_FAMILY
            ):
                continue
            ecosystem = ECOSYSTEM_OF_FAMILY[identified.family]
            names = set(declared(context.build_context, ecosystem).packages)
            for _, commands in shell_runs(stage):
                for command in commands:
                    install = install_command(command)
                    if install is not None and install.ecosystem == ecosystem:
                        names |= install.named
            risky = {
                name: entry["musl"]
                for name in sorted(names)
                if (entry := native_entry(ecosystem, name)) and entry.get("musl")
            }
            if not risky:
                continue
            instruction = stage.from_instruction
            full = variants(identified.family)["full"]
            tag = identified.tag_for("-".join(part for part in (identified.flavour, full.slim) if part))
            # `golang:alpine` names no version: its Debian counterpart is the untagged image, not `golang:`
            replacement = f"{reference.repository}:{tag}" if tag else reference.repository
            message = (
                "musl (Alpine) breaks "
                + "; ".join(f"`{name}`: {reason}" for name, reason in risky.items())
                + f". Use `{replacement}` (glibc)"
            )
            alpine_tool = uses_package_manager(stage, ALPINE_ONLY_COMMANDS)
            span = image_span(document, instruction)
            reason = None
            if alpine_tool is not None:
                reason = f"line {alpine_tool.start_line} uses Alpine's own tools"
            elif span is None or "$" in document.text[span[0] : span[1]] or reference.digest:
                reason = "the image is set through an ARG or pinned by digest"
            if reason is not None or span is None:  # no span gives a reason
                yield self.finding(
                    f"{message} (not fixed automatically: {reason})", instruction.start, instruction.header_end
                )
                continue
            fix = self.fix(
                f"Use {replacement} (glibc, Debian packages)",
                [Edit(span[0], span[1], replacement)],
                Applicability.UNSAFE,
            )
            yield self.finding(message, instruction.start, instruction.header_end, fix)
