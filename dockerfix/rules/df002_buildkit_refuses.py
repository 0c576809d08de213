"""DF002: what BuildKit refuses to build: an unknown instruction, no FROM, a FROM without its image."""

from __future__ import annotations

from collections.abc import Iterator

from msgspec.structs import replace

from dockerfix.rewriter.discovery import INSTRUCTIONS, unrendered_template
from dockerfix.rewriter.document import Document, Instruction
from dockerfix.rewriter.fixes import Finding
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example, Rule, RuleContext

STAGE_NAME = LazyPattern(r"^[a-z][a-z0-9-_.]*$")  # BuildKit's validStageName, matched on the lower-cased name


class BuildkitRefuses(Rule):
    """Report what stops `docker build` before the first step runs.

    What it does
        Reports what BuildKit's dispatcher rejects: an instruction it does not know (`RUNX`), a file with no FROM,
        an instruction other than ARG before the first FROM, and a FROM without exactly an image (or an image, `AS`
        and a valid stage name). A file whose first unknown line opens template markup (`<% if ... %>`,
        `{{ if .X }}`, `{% if x %}`) is a template that was never rendered: it is skipped with a warning, not
        refused (`discovery.unrendered_template`).

    Why
        The build fails on it, whatever the rest of the file holds: every other finding waits for this one. These
        are errors, the highest level of the gate.

    Example
        RUNX apt-get update
        fails with `unknown instruction: RUNX`; the intent was `RUN`.

    Gain
        None: BuildKit refuses the file, so no image is built at all. Always reported, as every DF0xx finding.

    Fix safety
        No fix: what the author meant (a typo, a template that was never rendered) cannot be known here.
    """

    code = "DF002"
    name = "buildkit-refuses"
    summary = "BuildKit stops on this before building anything: unknown instruction, no FROM, FROM without an image."
    valid = (
        "FROM debian:bookworm\nRUN true\n",
        "ARG BASE=debian\nFROM $BASE AS build\nfrom build\n",
        "# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM golang:1.22 as builder-1.x\n",
    )
    invalid = (
        Example("FROM debian:bookworm\nRUNX apt-get update\n"),
        Example("ARG VERSION=1\n"),
        Example("RUN echo hi\nFROM debian\n"),
        Example("FROM\n"),
        Example("FROM --platform=linux/amd64\n"),
        Example("FROM debian AS\n"),
        Example("FROM debian AS 1st\n"),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        # BuildKit parses the instructions in order and stops at the first it refuses: that one is the finding, and
        # a template that was never rendered is one finding, not one per line of its markup
        refusals = self._refusals(document)
        first = next(refusals, None)
        template = unrendered_template(document)
        # a template that was never rendered is skipped with a warning (the pipeline's), not refused
        if first is not None and (template is None or first.start != template.start):
            more = sum(1 for _ in refusals)
            if more:
                first = replace(first, message=f"{first.message} (and {more} more line{'s' * (more > 1)} after it)")
            yield first

    def _refusals(self, document: Document) -> Iterator[Finding]:
        seen_from = False
        for instruction in document.instructions:
            if instruction.cmd not in INSTRUCTIONS:
                yield self._at_keyword(instruction, f"unknown instruction `{instruction.keyword}`: BuildKit stops here")
            elif instruction.cmd == "from":
                seen_from = True
                problem = _from_problem(instruction.value)
                if problem:
                    yield self.finding(f"{problem}: BuildKit stops here", instruction.start, instruction.header_end)
            elif not seen_from and instruction.cmd != "arg":
                yield self._at_keyword(
                    instruction, f'`{instruction.keyword}` before the first FROM: BuildKit stops with "no build stage"'
                )
        if not seen_from and document.instructions:
            first = document.instructions[0]
            yield self.finding("no FROM: BuildKit has no stage to build", first.start, first.header_end)

    def _at_keyword(self, instruction: Instruction, message: str) -> Finding:
        return self.finding(message, instruction.start, instruction.start + len(instruction.keyword))


def _from_problem(arguments: tuple[str, ...]) -> str | None:
    if len(arguments) == 3 and arguments[1].lower() == "as":
        if not STAGE_NAME.match(arguments[2].lower()):
            return f"`{arguments[2]}` is not a stage name (a letter, then letters, digits, `-`, `_` or `.`)"
        return None
    if len(arguments) != 1:
        return "FROM takes an image, or an image, `AS` and a stage name"
    return None
