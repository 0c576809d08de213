"""DF113: remove the downloaded .gem files Bundler leaves in the gem cache."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.cacherules import AppendCleanupRule
from dockerfix.knowledge.cleanups import removes_path
from dockerfix.knowledge.gains import package_cache_gain
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Gain
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

BUNDLER = ("bundle", "bundler")


def bundle_install(command: SimpleCommand) -> bool:
    invocation = Invocation.of(command)
    return invocation.tool in BUNDLER and invocation.verb in (None, "install")


class BundlerCacheClean(AppendCleanupRule):
    """Remove the .gem archives Bundler keeps after installing.

    What it does
        Flags a RUN that runs `bundle install` without removing the gem cache, and appends
        `rm -rf "$(gem env gemdir)"/cache/*.gem`.

    Why
        Every installed gem is also kept as its downloaded `.gem` archive in the gem folder's `cache/`; the image never
        needs them again.

    Example
        RUN bundle install --jobs 4
        becomes
        RUN bundle install --jobs 4 \\
            && rm -rf "$(gem env gemdir)"/cache/*.gem

    Gain
        The gem cache after `bundle install`, from the measurements in `dockerfix/data/gains.json`; unknown
        while it is not measured (the gem registry could not be reached) and because the Gemfile, not the
        command, names the gems.

    Fix safety
        Unsafe: it removes the cached `.gem` files from the image (gems installed with `--path`/`BUNDLE_PATH` elsewhere
        keep theirs).
    """

    code = "DF113"
    tools = BUNDLER
    layer_rule = True
    name = "bundler-cache-clean"
    summary = "bundle install keeps every downloaded .gem archive in the image."
    cleanup = 'rm -rf "$(gem env gemdir)"/cache/*.gem'
    cached_paths = ("/usr/local/bundle", "/root/.bundle", "/root/.gem")
    valid = (
        "FROM ruby:3.3\nRUN bundle install && rm -rf /usr/local/bundle/cache/*.gem\n",
        "FROM ruby:3.3\nRUN bundle exec rake\n",
    )
    invalid = (
        Example(
            "FROM ruby:3.3\nRUN bundle install --jobs 4\n",
            'FROM ruby:3.3\nRUN bundle install --jobs 4 \\\n    && rm -rf "$(gem env gemdir)"/cache/*.gem\n',
            unsafe=True,
        ),
    )

    def creates_mess(self, command: SimpleCommand) -> bool:
        return bundle_install(command)

    def gain(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Gain:
        return package_cache_gain("gem", ())  # the Gemfile names the gems, not the command

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        return removes_path(commands, r"/cache(/|$)") or any(
            c.name_literal == "rm" and None in c.argument_literals for c in commands
        )
