"""DF114: a source tree cloned to build and install stays in the layer."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockerfix.knowledge.analysis import Invocation, commands_running, stages_running, tool_and_arguments
from dockerfix.knowledge.cleanups import removes_path
from dockerfix.knowledge.shelledits import append_blocker, append_edit
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ContentChange, Finding, Savings, Unknown
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand

GIT = ("git",)
CLONE_OPTIONS_WITH_VALUE = {
    "--depth",
    "-b",
    "--branch",
    "-o",
    "--origin",
    "-c",
    "--config",
    "--reference",
    "-j",
    "--jobs",
    "--filter",
    "--shallow-since",
    "--shallow-exclude",
    "--separate-git-dir",
    "-u",
    "--upload-pack",
    "--template",
}
SCRATCH = LazyPattern(r"^/(tmp|usr/src|usr/local/src|opt/src|build|src)/[^/$*?]+/?$")


def cloned_into(command: SimpleCommand) -> str | None:
    """The scratch folder a `git clone URL DIR` writes, when it is a literal folder under /tmp, /usr/src, ..."""
    invocation = Invocation.of(command)
    if not invocation.runs(GIT, ("clone",)):
        return None
    positional: list[str | None] = []
    words = iter(invocation.after_verb)
    for word in words:
        if word in CLONE_OPTIONS_WITH_VALUE:
            next(words, None)
        elif word is None or not word.startswith("-"):
            positional.append(word)
    if len(positional) != 2 or positional[1] is None or not SCRATCH.match(positional[1]):
        return None
    return positional[1].rstrip("/")


def installs(command: SimpleCommand) -> bool:
    name, arguments = tool_and_arguments(command)
    return (
        (name == "make" and "install" in arguments)
        or (name == "cmake" and "--install" in arguments)
        or (name in ("python", "python3") and "setup.py" in arguments and "install" in arguments)
        or (name in ("pip", "pip3") and "install" in arguments)
    )


class BuildDirectoryLeftBehind(Rule):
    """Remove the source tree a RUN cloned only to build and install.

    What it does
        Flags a RUN that clones a repository into a scratch folder (`/tmp/...`, `/usr/src/...`), builds and installs
        from it (`make install`, `cmake --install`, `pip install`, `setup.py install`) and leaves it behind, and appends
        `rm -rf DIR`.

    Why
        Once installed, the sources, the build objects and the `.git` history are dead weight in the layer; removing
        them in a later RUN frees nothing.

    Example
        RUN git clone https://example.invalid/lib.git /tmp/lib && make -C /tmp/lib install
        becomes
        RUN git clone https://example.invalid/lib.git /tmp/lib && make -C /tmp/lib install \\
            && rm -rf /tmp/lib

    Gain
        Unknown: the size of the cloned source tree was not measured, so the finding says so instead of a number
        (it is reported, marked unknown).

    Fix safety
        Unsafe: the folder is no longer in the image. Nothing is reported when a later instruction names the folder.
    """

    code = "DF114"
    layer_rule = True
    name = "build-directory-left-behind"
    summary = "A source tree cloned to build and install stays in the image."
    valid = (
        "FROM debian\nRUN git clone https://example.invalid/a.git /tmp/a && make -C /tmp/a install && rm -rf /tmp/a\n",
        "FROM debian\nRUN git clone https://example.invalid/a.git /opt/app\n",
        "FROM debian\nRUN git clone https://example.invalid/a.git /tmp/a && make -C /tmp/a install\nRUN ls /tmp/a\n",
    )
    invalid = (
        Example(
            "FROM debian\nRUN git clone --depth 1 https://example.invalid/lib.git /usr/src/lib \\\n"
            "    && cd /usr/src/lib && make && make install\n",
            "FROM debian\nRUN git clone --depth 1 https://example.invalid/lib.git /usr/src/lib \\\n"
            "    && cd /usr/src/lib && make && make install \\\n    && rm -rf /usr/src/lib\n",
            unsafe=True,
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in stages_running(document, GIT):
            for run, commands, position in commands_running(stage, GIT):
                command = commands[position]
                folder = cloned_into(command)
                if folder is None or not any(installs(later) for later in commands[position + 1 :]):
                    continue
                if removes_path(commands, "^" + re.escape(folder) + "/?$") or self.used_later(
                    document, stage, run, folder
                ):
                    continue
                start = run.arguments_to_source(command.start)
                end = run.arguments_to_source(command.end, end=True)
                savings = Savings.of(Unknown(f"the size of the source tree in `{folder}` was not measured"))
                reason = append_blocker(run)
                if reason is not None:
                    yield self.finding(
                        f"`{folder}` stays in the layer after the install (not fixed: {reason})",
                        start,
                        end,
                        savings=savings,
                    )
                    continue
                fix = self.fix(
                    f"Append `rm -rf {folder}` (the source tree is no longer in the image)",
                    [append_edit(document, run, f"rm -rf {folder}")],
                    Applicability.UNSAFE,
                    ContentChange(removes=(folder,)),
                )
                yield self.finding(
                    f"`{folder}` stays in the layer after the install; remove it in the same RUN",
                    start,
                    end,
                    fix,
                    savings,
                )

    @staticmethod
    def used_later(document: Document, stage: Stage, run: Instruction, folder: str) -> bool:
        return any(
            later.index > run.index and folder in document.text[slice(*later.span)] for later in stage.instructions
        )
