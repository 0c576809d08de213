"""DF111: a downloaded archive that was extracted or installed stays in the layer."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from dockerfix.knowledge.analysis import commands_running, stages_running, tool_and_arguments, workdir_at
from dockerfix.knowledge.cleanups import kept_out_by_mount, removed_after
from dockerfix.knowledge.shelledits import append_blocker, append_edit
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ContentChange, Finding, Savings, Unknown
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand

# the archive is downloaded when the image is built: no data here says how big it is
ARCHIVE_SIZE_UNKNOWN = Unknown("the archive's size is known only once the build downloads it")

ARCHIVE = LazyPattern(r"\.(tar(\.(gz|bz2|xz|zst))?|tgz|tbz2?|txz|zip|deb|rpm|apk)$")
CONSUMERS = {"tar", "unzip", "dpkg", "rpm", "bsdtar", "7z", "gunzip", "apt-get", "apt", "yum", "dnf", "apk"}
OUTPUT_OPTIONS = {"curl": ("-o", "--output"), "wget": ("-O", "--output-document")}


def downloaded_file(command: SimpleCommand) -> str | None:
    """The file a curl/wget command writes, when it is a literal archive name (URLs may use variables)."""
    name, arguments = tool_and_arguments(command)
    if name not in OUTPUT_OPTIONS:
        return None
    short, long = OUTPUT_OPTIONS[name]
    output = None
    urls: list[str | None] = []
    for index, argument in enumerate(arguments):
        following = arguments[index + 1] if index + 1 < len(arguments) else None
        if argument is None:
            urls.append(None)
        elif argument == long:
            output = following if following is not None else "-"
        elif argument.startswith("-") and not argument.startswith("--") and short[1] in argument:
            # a cluster such as `-fsSLo FILE` or `-qO-`: the value is attached or is the next word
            attached = argument.split(short[1], 1)[1]
            output = attached or (following if following is not None else "-")
        elif argument.startswith(long + "="):
            output = argument.split("=", 1)[1]
        elif "://" in argument:
            urls.append(argument)
    remote_name = name == "wget" or any(a in ("-O", "--remote-name") for a in arguments)
    if output is None and remote_name and len(urls) == 1 and urls[0] is not None:
        output = posixpath.basename(urls[0].split("?", 1)[0])
    if output in (None, "-", "/dev/null") or not ARCHIVE.search(output):
        return None
    return output


def consumes(command: SimpleCommand, path: str) -> bool:
    name, arguments = tool_and_arguments(command)
    base = posixpath.basename(path)
    return name in CONSUMERS and any(
        argument is not None
        and (argument in (path, base, "./" + base) or argument.endswith("/" + base) or argument.endswith("f" + base))
        for argument in arguments
    )


class DownloadedArchiveLeftBehind(Rule):
    """Remove a downloaded archive in the RUN that extracted or installed it.

    What it does
        Flags a RUN that downloads an archive with `curl`/`wget` to a file, extracts or installs it (`tar`, `unzip`,
        `dpkg -i`, ...) and does not remove it afterwards, and appends `rm -f FILE`. A removal counts when it names
        the file or a folder above it, also through a glob (`rm -rf git-lfs*`, `rm -rf /tmp/*`), read in the folder
        the RUN is in at that point; so does a `--mount` over it.

    Why
        Once extracted, the archive is a second copy of what it contains; left in the layer it is shipped with every
        pull, and removing it in a later RUN frees nothing.

    Example
        RUN curl -fsSLo /tmp/node.tar.xz https://example.invalid/node.tar.xz && tar -xJf /tmp/node.tar.xz -C /usr/local
        becomes
        RUN curl -fsSLo /tmp/node.tar.xz https://example.invalid/node.tar.xz && tar -xJf /tmp/node.tar.xz -C /usr/local \\
            && rm -f /tmp/node.tar.xz

    Fix safety
        Unsafe: the archive file is no longer in the image. Nothing is reported when a later instruction names the
        file (it is still needed); the fix is not offered when the file name is relative and the RUN changes directory
        after downloading it, or when the RUN cannot be appended to safely.
    """  # noqa: E501 (the example keeps the one line the fix writes)

    code = "DF111"
    layer_rule = True
    name = "downloaded-archive-left-behind"
    summary = "A downloaded archive that was extracted or installed stays in the image."
    valid = (
        "FROM debian\nRUN curl -fsSL https://example.invalid/a.tgz | tar -xz -C /opt\n",
        "FROM debian\nRUN curl -o /tmp/a.tgz https://example.invalid/a.tgz && tar -xzf /tmp/a.tgz && rm /tmp/a.tgz\n",
        "FROM debian\nRUN curl -o /opt/app.jar https://example.invalid/app.jar\n",
        "FROM debian\nRUN wget https://example.invalid/a.tgz && tar -xzf a.tgz\nRUN sha256sum a.tgz\n",
        "FROM debian\n"
        "RUN curl -fsSLo git-lfs.tgz https://example.invalid/git-lfs.tgz && tar -xzf git-lfs.tgz && rm -rf git-lfs*\n",
        "FROM debian\nWORKDIR /tmp\nRUN wget https://example.invalid/a.zip && unzip a.zip && rm -rf /tmp/*\n",
        "FROM debian\n"
        "RUN --mount=type=tmpfs,target=/tmp curl -o /tmp/a.tgz https://example.invalid/a.tgz && tar -xzf /tmp/a.tgz "
        "-C /opt\n",
        "FROM debian\nRUN curl -o /tmp/a.tgz https://example.invalid/a.tgz && cd /tmp && tar -xzf a.tgz && rm a.tgz\n",
    )
    invalid = (
        Example(
            "FROM debian\n"
            "RUN curl -fsSLo /tmp/node.tar.xz https://example.invalid/node.tar.xz && tar -xJf /tmp/node.tar.xz -C "
            "/usr/local\n",
            "FROM debian\n"
            "RUN curl -fsSLo /tmp/node.tar.xz https://example.invalid/node.tar.xz && tar -xJf /tmp/node.tar.xz -C "
            "/usr/local \\\n"
            "    && rm -f /tmp/node.tar.xz\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nWORKDIR /tmp\n"
            "RUN curl -fsSLo git-lfs.tgz https://example.invalid/git-lfs.tgz && rm -f git-lfs.sha256 && tar -xzf "
            "git-lfs.tgz\n",
            "FROM debian\nWORKDIR /tmp\n"
            "RUN curl -fsSLo git-lfs.tgz https://example.invalid/git-lfs.tgz && rm -f git-lfs.sha256 && tar -xzf "
            "git-lfs.tgz \\\n"
            "    && rm -f git-lfs.tgz\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nWORKDIR /tmp\nRUN wget -q https://example.invalid/pkg.deb && dpkg -i pkg.deb\n",
            "FROM debian\nWORKDIR /tmp\nRUN wget -q https://example.invalid/pkg.deb && dpkg -i pkg.deb \\\n"
            "    && rm -f pkg.deb\n",
            unsafe=True,
        ),
    )

    @staticmethod
    def removal(stage: Stage, run: Instruction, path: str) -> ContentChange:
        """The archive's absolute path; nothing is declared when the WORKDIR it is relative to is unknown here."""
        folder = "/" if path.startswith("/") else workdir_at(stage, run)
        return ContentChange(removes=(posixpath.join(folder, path),) if folder is not None else ())

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in stages_running(document, OUTPUT_OPTIONS):
            for run, commands, position in commands_running(stage, OUTPUT_OPTIONS):
                command = commands[position]
                path = downloaded_file(command)
                if path is None or not any(consumes(later, path) for later in commands[position + 1 :]):
                    continue
                if removed_after(stage, run, position, path) or kept_out_by_mount(stage, run, path):
                    continue
                if self.used_later(document, stage, run, path):
                    continue
                start = run.arguments_to_source(command.start)
                end = run.arguments_to_source(command.end, end=True)
                archive = Savings.of(ARCHIVE_SIZE_UNKNOWN)
                reason = append_blocker(run) or self.blocker(document, stage, run, commands[position + 1 :], path)
                if reason is not None:
                    yield self.finding(
                        f"`{path}` stays in the layer after it was extracted (not fixed: {reason})",
                        start,
                        end,
                        savings=archive,
                    )
                    continue
                fix = self.fix(
                    f"Append `rm -f {path}` (the archive is no longer in the image)",
                    [append_edit(document, run, f"rm -f {path}")],
                    Applicability.UNSAFE,
                    self.removal(stage, run, path),
                )
                yield self.finding(
                    f"`{path}` stays in the layer after it was extracted; remove it in the same RUN",
                    start,
                    end,
                    fix,
                    archive,
                )

    @staticmethod
    def used_later(document: Document, stage: Stage, run: Instruction, path: str) -> bool:
        """A later instruction names the file: it is still needed there."""
        base = posixpath.basename(path)
        return any(
            later.index > run.index and base in document.text[slice(*later.span)] for later in stage.instructions
        )

    @staticmethod
    def blocker(
        document: Document, stage: Stage, run: Instruction, following: list[SimpleCommand], path: str
    ) -> str | None:
        if not path.startswith("/") and any(
            not command.in_subshell and command.name_literal in ("cd", "pushd", "popd") for command in following
        ):
            return "the RUN changes directory after downloading it"
        return None
