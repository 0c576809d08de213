"""DF108: `gem install --no-document`."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.runedit import AddFlagRule
from dockerfix.rewriter.document import Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand


class GemNoDocument(AddFlagRule):
    """Install gems without their documentation: `gem install --no-document`.

    What it does
        Flags `gem install` / `gem update` without `--no-document` (or the older `--no-ri --no-rdoc`) and adds
        `--no-document` after the verb.

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
    layer_rule = True
    name = "gem-no-document"
    summary = "gem install without --no-document generates documentation nobody reads."
    flag = "--no-document"
    effect = "the gems' ri/RDoc documentation is no longer generated into the image"
    valid = (
        "FROM ruby:3.3\nRUN gem install --no-document bundler\n",
        "FROM ruby:3.3\nRUN gem install -N bundler\n",
        "FROM ruby:3.3\nRUN gem install bundler --no-ri --no-rdoc\n",
    )
    invalid = (
        Example(
            "FROM ruby:3.3\nRUN gem install bundler\n",
            "FROM ruby:3.3\nRUN gem install --no-document bundler\n",
            unsafe=True,
        ),
    )

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        # the documentation folder of each gem directory: the official images', Debian's and a source-built Ruby's
        return ContentChange(removes=("/usr/local/bundle/doc", "/var/lib/gems/*/doc", "/usr/local/lib/ruby/gems/*/doc"))

    def wants_flag(self, invocation: Invocation) -> bool:
        return invocation.runs(("gem",), ("install", "update"))

    def has_flag(self, arguments: list[str | None]) -> bool:
        return any(argument in ("--no-document", "-N", "--no-rdoc") for argument in arguments)
