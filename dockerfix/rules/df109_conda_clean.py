"""DF109: `conda clean` in the RUN that installed."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.cacherules import AppendCleanupRule
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

CONDAS = ("conda", "mamba", "micromamba")


def verb(command: SimpleCommand) -> tuple[str | None, str | None]:
    invocation = Invocation.of(command)
    return invocation.tool, invocation.verb


class CondaClean(AppendCleanupRule):
    """Clean conda's package cache in the RUN that installed.

    What it does
        Flags a RUN that runs `conda`/`mamba`/`micromamba` `install`, `create` or `update` without a `clean` of the
        same tool, and appends `<tool> clean -afy`.

    Why
        conda keeps downloaded tarballs and extracted packages in `pkgs/`, commonly hundreds of megabytes.

    Example
        RUN conda install -y numpy
        becomes
        RUN conda install -y numpy \\
            && conda clean -afy

    Gain
        Unknown: the size of conda's package cache after the install was not measured, so the finding says so
        instead of a number (it is reported, marked unknown).

    Fix safety
        Unsafe: it removes conda's package cache and index cache from the image.
    """

    code = "DF109"
    tools = CONDAS
    layer_rule = True
    name = "conda-clean"
    summary = "conda installs leave their package cache in the layer."
    cached_paths = ("/opt/conda/pkgs",)
    valid = (
        "FROM continuumio/miniconda3\nRUN conda install -y numpy && conda clean -afy\n",
        "FROM continuumio/miniconda3\nRUN conda --version\n",
    )
    invalid = (
        Example(
            "FROM continuumio/miniconda3\nRUN conda install -y numpy\n",
            "FROM continuumio/miniconda3\nRUN conda install -y numpy \\\n    && conda clean -afy\n",
            unsafe=True,
        ),
    )

    def creates_mess(self, command: SimpleCommand) -> bool:
        name, action = verb(command)
        return name in CONDAS and action in ("install", "create", "update")

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        return any(name in CONDAS and action == "clean" for name, action in map(verb, commands))

    def cleanup_command(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> str:
        name = next(name for command in commands if self.creates_mess(command) for name in [verb(command)[0]])
        return f"{name} clean -afy"
