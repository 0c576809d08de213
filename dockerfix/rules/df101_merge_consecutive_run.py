"""DF101: merge consecutive RUN instructions where the merge gains more than a layer."""

from __future__ import annotations

from typing import ClassVar

from dockerfix.knowledge.runmerge import BYTES_CLAIM, CACHE_CLAIM, RunMergeRule
from dockerfix.rewriter.rule import Example


class MergeConsecutiveRun(RunMergeRule):
    """Merge consecutive RUN instructions into one.

    What it does
        Finds RUN instructions that follow each other in a stage (only comments and blank lines between them, the same
        flags, shell form, a POSIX shell) and rewrites them as one RUN whose commands are joined with `&&`, one command
        per continuation line in the file's own style, comments kept as comment lines inside the continuation. It
        reports a merge only for a claim beyond a layer: the package index update in the layer of the install that
        needs it (cache correctness), or files the earlier RUNs wrote that a later RUN removes or rewrites (`rm`,
        package removal, `chmod`, `chown`, `mv`, `sed -i` before it makes any files of its own) no longer shipped in
        the earlier layer. The files count as the earlier RUNs' when a command of theirs that makes content (not
        `mkdir`, `touch`, `ln`, `chmod`, whose files weigh nothing) names the path or the folder a glob starts in,
        when they updated the package lists the RUN removes, or ran the package manager whose packages or cache
        it removes; files they do not name may come from the base image, where a merge saves nothing. Their bytes
        are stated as unknown: only a build measures what a RUN leaves. Merges whose only gain is one layer fewer
        are DF120's, outside the default selection. A comment between the RUNs that explains the split (it speaks
        of layers, the build cache or keeping steps apart) keeps them apart, and so does a suppression comment
        (inside a merged RUN it would no longer apply to its instruction); other comments, such as a step's title,
        move into the merged RUN. RUNs it cannot merge are still reported, without a fix. In a stage that does not
        ship (only copied from), layers and bytes are nobody's concern, but a stale package index still breaks its
        builds: there only the index update is merged with the install that needs it.

    Why
        Every RUN makes a layer. Files deleted in a later layer still weigh in the image, an index update in its own
        layer is reused from the cache when the install changes (stale package lists), and each layer costs pull time
        and metadata; one RUN that updates, installs and cleans up leaves only what it kept.

    Example
        RUN apt-get update
        RUN apt-get install -y curl
        becomes
        RUN apt-get update \\
            && apt-get install -y curl

    Fix safety
        Each RUN starts a fresh shell in WORKDIR and the build stops at the first failing one. The fix keeps both: a
        RUN that changes the shell's state (`cd`, `export`, `set`, `umask`, variables, loop variables, `source`,
        `exit`, any POSIX special built-in, which keeps the assignments in front of it, and these behind a prefix such
        as `time` or `!`) is wrapped in a subshell `( ... )` so later commands do not see it (written `( (` when the
        RUN starts with `(`: `((` may read as arithmetic), and a later RUN made of a `;` or `||` list is grouped
        `{ ...; }` so it still runs only when the earlier ones succeeded. A shell comment that ends a RUN becomes a
        comment line of the continuation. A RUN with a background `&`, a comment before a continuation (it swallows
        the rest of the RUN), a heredoc other than the RUN's script or a command the shell parser cannot read stays
        on its own; its neighbours on either side are still merged. A heredoc script (`RUN <<EOF`) takes the RUNs
        after it in as lines before its terminator, each as BuildKit passed it to the shell (on one line), the one
        before ending in `&&` (a heredoc script runs without `set -e` unless it says so); not when the script
        changes the shell's state, since they would run in its shell, or ends in a compound command. A `;` list
        under `set -e` (set by the RUN or by SHELL) may only end a merged RUN: on the left of `&&` the shell ignores
        `set -e`. A merged command never ends a line with the escape
        character (BuildKit would continue the RUN into the next instruction) and stays under 32 KiB (Linux limits
        the command `sh -c` receives to 128 KiB). The fix is safe when the merge also pays for the build cache: an
        index update with the install that needs it, cleanup with the layer that made the files, or quick
        housekeeping commands. Merging a slow, stable step with one that may change more often makes every rebuild
        rerun both, so that fix is unsafe (applied with `--unsafe-fixes`).
    """

    code = "DF101"
    name = "merge-consecutive-run"
    summary = "Consecutive RUN instructions whose merge keeps the package index fresh or files out of the image."
    hadolint = ("DL3059",)
    claims: ClassVar[frozenset[str]] = frozenset({CACHE_CLAIM, BYTES_CLAIM})
    valid = (
        "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
        'FROM debian\nRUN ["apt-get", "update"]\nRUN ["apt-get", "install", "-y", "curl"]\n',
        "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get update\nRUN apt-get install -y curl\n",
        "FROM debian\nRUN apt-get update\nENV DEBIAN_FRONTEND=noninteractive\nRUN apt-get install -y curl\n",
        "FROM debian\nRUN cat <<EOF > /etc/motd\nhi\nEOF\nRUN rm -rf /tmp/x\n",
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN apt-get update\nRUN apt-get install -y curl\n",
        'FROM debian\nSHELL ["pwsh", "-Command"]\nRUN apt-get update\nRUN apt-get install -y curl\n',
        "FROM debian\nRUN apt-get update\n# dockerfix: ignore=DF101\nRUN apt-get install -y curl\n",
        "FROM alpine\nRUN set -eux; mkdir /a; touch /a/b\nRUN touch /c\n",
        "FROM debian\nRUN apt-get install -y curl\n# a layer of its own: upgrading curl must not rebuild it\n"
        "RUN rm -rf /var/lib/apt/lists/*\n",
        "FROM debian\nRUN apt-get update && apt-get install -y python3-pip\n"
        "RUN pip install flask && pip check && flask --version\n",
        # one layer fewer is all these gain (DF120's): housekeeping, and a cleanup of files the base image brought
        "FROM alpine\nRUN mkdir /app\nRUN adduser -D app\n",
        "FROM alpine\nRUN mkdir -p /x\nRUN chmod 755 /x\n",
        "FROM nginx\nRUN apt-get update && apt-get install -y curl\nRUN rm /etc/nginx/conf.d/default.conf\n",
        "FROM debian\nRUN apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n",
    )
    invalid = (
        Example(
            "FROM debian\nRUN <<EOF\n  apt-get update\nEOF\n# tools\nRUN apt-get install -y \\\n    curl\n"
            "RUN rm -rf /var/lib/apt/lists/*\n",
            "FROM debian\nRUN <<EOF\n  apt-get update &&\n  # tools\n  apt-get install -y     curl &&\n"
            "  rm -rf /var/lib/apt/lists/*\nEOF\n",
        ),
        Example("FROM debian\nRUN <<EOF\nset -e\napt-get update\nEOF\nRUN apt-get install -y curl\n", None),
        Example(
            "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n",
            "FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl\n",
        ),
        Example(
            "FROM debian\n# index\nRUN apt-get update\n\n# tools\nRUN apt-get install -y curl\n"
            "RUN rm -rf /var/lib/apt/lists/*\n",
            "FROM debian\n# index\nRUN apt-get update \\\n# tools\n    && apt-get install -y curl \\\n"
            "    && rm -rf /var/lib/apt/lists/*\n",
        ),
        Example(
            "FROM alpine\nRUN (cd /src && make) && cd /\nRUN rm -rf /src\n",
            "FROM alpine\nRUN ( (cd /src && make) && cd /) \\\n    && rm -rf /src\n",
        ),
        Example(
            "FROM alpine\nRUN wget -O /a.tgz https://example.com/a.tgz; echo ok\nRUN rm /a.tgz || true\n",
            "FROM alpine\nRUN wget -O /a.tgz https://example.com/a.tgz; echo ok \\\n    && { rm /a.tgz || true; }\n",
            unsafe=True,
        ),
        Example(
            "FROM alpine\nRUN wget -O /usr/local/bin/tini https://example.com/tini\nRUN chmod +x /usr/local/bin/tini\n",
            "FROM alpine\nRUN wget -O /usr/local/bin/tini https://example.com/tini \\\n"
            "    && chmod +x /usr/local/bin/tini\n",
        ),
        Example("FROM alpine\nRUN make -C /src & wait\nRUN rm -rf /src\n", None),
        Example("FROM debian\nRUN set -e; apt-get update; apt-get install -y gcc\nRUN apt-get purge -y gcc\n", None),
        Example(
            "FROM alpine\nRUN wget -O /tmp/x https://example.com/x # first \\\n    && echo two\nRUN rm -rf /tmp/x\n",
            None,
        ),
        Example(
            "FROM debian\nRUN apt-get install -y curl\n# hadolint ignore=DL3008\nRUN apt-get purge -y curl\n",
            None,
        ),
    )
