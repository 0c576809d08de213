"""DF108: `gem install --no-document`."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.baseimages import resolved_reference
from dockerfix.knowledge.cacherules import AddFlagRule
from dockerfix.knowledge.gains import package_cache_gain
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange, Savings
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand
from dockerfix.rewriter.stages import base_stages

# A gemrc line that gives `gem install` (or every gem command) `--no-document`: `gem: --no-document`,
# `install: --no-document`, the older `--no-rdoc --no-ri`.
NO_DOCUMENT_SETTING = LazyPattern(r"\b(gem|install):[^\n]*--no-(document|rdoc)\b")
GEMRC = LazyPattern(r"gemrc\b")
# Official images whose gemrc says `gem: --no-document`: every ruby image (docker-library/ruby's
# Dockerfile.template at d55e25ae, 2026-04-21, appends it to /usr/local/etc/gemrc).
BASE_IMAGES_WITHOUT_DOCUMENTATION = frozenset({"ruby"})


class GemNoDocument(AddFlagRule):
    """Install gems without their documentation: `gem install --no-document`.

    What it does
        Flags `gem install` / `gem update` without `--no-document` (or the older `--no-ri --no-rdoc`) and adds
        `--no-document` after the verb, unless a gemrc already says so: one the build writes before the command
        (`echo 'gem: --no-document' >> /etc/gemrc`, `~/.gemrc`), in the stage or a stage it is built on, or the
        base image's, where the data knows it: every official ruby image writes `gem: --no-document` to
        `/usr/local/etc/gemrc`. On any other base image the message says the claim depends on its gemrc. The
        gain is unknown: the gem registry could not be reached to measure what the documentation weighs.

    Why
        RubyGems generates ri and RDoc documentation for every gem it installs; nothing in a container reads it.

    Example
        RUN gem install bundler
        becomes
        RUN gem install --no-document bundler

    Fix safety
        Unsafe: the image no longer contains the gems' generated documentation.
    """

    code = "DF108"
    tools = ("gem",)
    layer_rule = True
    name = "gem-no-document"
    summary = "gem install without --no-document generates documentation nobody reads."
    flag = "--no-document"
    effect = "the gems' ri/RDoc documentation is no longer generated into the image"
    valid = (
        "FROM debian:bookworm\nRUN gem install --no-document bundler\n",
        "FROM debian:bookworm\nRUN gem install -N bundler\n",
        "FROM debian:bookworm\nRUN gem install bundler --no-ri --no-rdoc\n",
        "FROM ruby:3.3\nRUN gem install bundler\n",
        "FROM debian:bookworm\nRUN echo 'gem: --no-document' >> /etc/gemrc\nRUN gem install fluentd\n",
        "FROM debian:bookworm\nRUN echo 'install: --no-document' > ~/.gemrc && gem install fluentd\n",
        "FROM ruby:3.3 AS base\nFROM base\nRUN gem install bundler\n",
    )
    invalid = (
        Example(
            "FROM debian:bookworm\nRUN gem install bundler\n",
            "FROM debian:bookworm\nRUN gem install --no-document bundler\n",
            unsafe=True,
        ),
        Example(
            "FROM debian:bookworm\nRUN gem install bundler && echo 'gem: --no-document' >> /etc/gemrc\n",
            "FROM debian:bookworm\nRUN gem install --no-document bundler && echo 'gem: --no-document' >> /etc/gemrc\n",
            unsafe=True,
        ),
    )

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        # the documentation folder of each gem directory: the official images', Debian's and a source-built Ruby's
        return ContentChange(removes=("/usr/local/bundle/doc", "/var/lib/gems/*/doc", "/usr/local/lib/ruby/gems/*/doc"))

    def wants_flag(self, invocation: Invocation) -> bool:
        return invocation.runs(("gem",), ("install", "update"))

    def savings(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Savings:
        return Savings.of(package_cache_gain("gem", ()))

    def exempt(self, stage: Stage, run: Instruction) -> bool:
        written = stage.facts(first_no_document_gemrc)
        return written is not None and written < run.index

    def exempt_command(self, stage: Stage, run: Instruction, position: int) -> bool:
        command = list(run.shell_script.simple_commands())[position]
        return writes_no_document_gemrc(run.shell_script.source[: command.start])

    def set_by_base(self, document: Document, stage: Stage) -> bool:
        chain = (stage, *base_stages(document, stage))
        reference = resolved_reference(document, chain[-1])
        return (reference is not None and reference.official_name in BASE_IMAGES_WITHOUT_DOCUMENTATION) or any(
            base.facts(first_no_document_gemrc) is not None for base in chain[1:]
        )

    def depends_on_base(self, document: Document, stage: Stage) -> str | None:
        return "unless the base image's gemrc already says `--no-document`, which this file does not show"

    def has_flag(self, arguments: list[str | None]) -> bool:
        return any(argument in ("--no-document", "-N", "--no-rdoc") for argument in arguments)


def first_no_document_gemrc(stage: Stage) -> int | None:
    """The index of the stage's first RUN that writes a gemrc giving gem installs `--no-document` (read once per
    stage: every RUN asks)."""
    return next((instruction.index for instruction in stage.instructions if runs_no_document_gemrc(instruction)), None)


def runs_no_document_gemrc(instruction: Instruction) -> bool:
    """Whether the instruction is a RUN that writes a gemrc giving gem installs `--no-document`."""
    return (
        instruction.cmd == "run"
        and instruction.shell is not None
        and writes_no_document_gemrc(instruction.shell.source)
    )


def writes_no_document_gemrc(text: str) -> bool:
    """Whether an instruction's text writes a gemrc that gives gem installs `--no-document`."""
    return GEMRC.search(text) is not None and NO_DOCUMENT_SETTING.search(text) is not None
