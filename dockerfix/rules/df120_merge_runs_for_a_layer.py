"""DF120: merge consecutive RUN instructions whose merge gains one layer and nothing else (opt-in)."""

from __future__ import annotations

from typing import ClassVar

from dockerfix.knowledge.runmerge import LAYERS_CLAIM, RunMergeRule
from dockerfix.rewriter.rule import Example


class MergeRunsForALayer(RunMergeRule):
    """Merge consecutive RUN instructions of at most two commands each, for one layer fewer (hadolint's DL3059).

    What it does
        Finds RUN instructions that follow each other in a stage that ships, each of at most two commands (an author
        who chains more and still writes two RUNs chose the layers, as hadolint's DL3059 reads it), whose merge
        claims nothing but one layer fewer: housekeeping such as `mkdir`, `sed`, `adduser`, `ln`, or RUNs that each
        clean up after themselves, or a cleanup of files the base image brought. It rewrites them as one RUN as
        DF101 does. Outside the default selection: select it by its code (`--select DF120`) for DL3059 parity.
        Merges that also keep the package index fresh or files out of the image are DF101's.

    Why
        Every layer costs a little pull time and metadata; some teams keep to one RUN per logical step for that. It
        saves no bytes and no rebuild steps, which is why the default set leaves it out.

    Example
        RUN mkdir -p /app
        RUN adduser -D app
        becomes
        RUN mkdir -p /app \\
            && adduser -D app

    Fix safety
        As DF101's (`dockerfix --explain DF101`): each RUN's shell state stays its own (subshells where a RUN changes
        it), a `;` or `||` list keeps running only after the earlier RUNs succeeded, and RUNs that cannot be joined
        safely stay apart. Safe for quick housekeeping commands; a merge of other steps couples their build cache,
        so that fix is unsafe.
    """

    code = "DF120"
    name = "merge-runs-for-a-layer"
    summary = "Consecutive RUN instructions of one or two commands each; merged, the image has one layer fewer."
    hadolint = ("DL3059",)
    opt_in = True
    claims: ClassVar[frozenset[str]] = frozenset({LAYERS_CLAIM})
    valid = (
        "FROM alpine\nRUN mkdir /a && touch /a/b && chmod 644 /a/b\nRUN touch /c\n",
        "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n",
        "FROM alpine\nRUN mkdir /app\n# separate layer: the user changes less often\nRUN adduser -D app\n",
        "FROM alpine AS tools\nRUN mkdir /out\nRUN touch /out/a\nFROM alpine\nCOPY --from=tools /out /out\n",
    )
    invalid = (
        Example(
            "FROM alpine\nRUN mkdir -p /app\nRUN adduser -D app\n",
            "FROM alpine\nRUN mkdir -p /app \\\n    && adduser -D app\n",
        ),
        Example(
            "FROM alpine\nWORKDIR /src\nRUN cd /tmp && touch marker\nRUN touch here\n",
            "FROM alpine\nWORKDIR /src\nRUN (cd /tmp && touch marker) \\\n    && touch here\n",
        ),
        Example(
            "FROM alpine\nRUN mkdir -p /a; echo ok\nRUN test -d /a || mkdir /a\n",
            "FROM alpine\nRUN mkdir -p /a; echo ok \\\n    && { test -d /a || mkdir /a; }\n",
        ),
        Example(
            "FROM nginx\nRUN apt-get update && apt-get install -y curl\nRUN rm /etc/nginx/conf.d/default.conf\n",
            "FROM nginx\nRUN apt-get update && apt-get install -y curl \\\n    && rm /etc/nginx/conf.d/default.conf\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nRUN apt-get install -y build-essential && \\\n    gcc --version\nRUN make -C /src\n",
            "FROM debian\nRUN apt-get install -y build-essential && \\\n    gcc --version && \\\n    make -C /src\n",
            unsafe=True,
        ),
        Example(
            "FROM alpine\nRUN touch /a\nRUN touch /b\nRUN sleep 100 &\nRUN touch /c\nRUN touch /d\n",
            "FROM alpine\nRUN touch /a \\\n    && touch /b\nRUN sleep 100 &\nRUN touch /c \\\n    && touch /d\n",
        ),
        Example(
            "FROM alpine\nRUN mkdir /a\nRUN set -e; touch /a/b\nRUN touch /d\n",
            "FROM alpine\nRUN mkdir /a \\\n    && { set -e; touch /a/b; }\nRUN touch /d\n",
        ),
        Example(
            "FROM alpine\nRUN echo one # first\nRUN echo two  # second\n",
            "FROM alpine\nRUN echo one \\\n    # first\n    && echo two  # second\n",
        ),
        Example(
            "FROM alpine:3.19\nRUN rm -rf /tmp/a\nRUN echo foo\\ ;\nENV X=1\n",
            "FROM alpine:3.19\nRUN rm -rf /tmp/a \\\n    && echo foo\\ ;\nENV X=1\n",
        ),
        Example(
            "FROM alpine\nRUN PATH=/nowhere times\nRUN ls /\n",
            "FROM alpine\nRUN (PATH=/nowhere times) \\\n    && ls /\n",
            unsafe=True,
        ),
        Example(
            'FROM debian\nSHELL ["bash", "-c"]\nRUN time cd /tmp\nRUN touch here\n',
            'FROM debian\nSHELL ["bash", "-c"]\nRUN (time cd /tmp) \\\n    && touch here\n',
            unsafe=True,
        ),
    )
