"""DF202: use COPY where ADD only copies local files."""

from __future__ import annotations

from collections.abc import Iterator

from dockerfix.knowledge.analysis import add_does_more_than_copy
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import Document, Instruction
from dockerfix.rewriter.fixes import Applicability, Edit, Finding
from dockerfix.rewriter.rule import Example, Rule, RuleContext

# what ADD recognises as an archive to extract: tar, gzip, bzip2 and xz streams
MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


def is_archive(context: BuildContext, path: str) -> bool:
    head = context.read_bytes(path, 512) or b""
    return head.startswith(MAGIC) or head[257:262] == b"ustar"


class AddToCopy(Rule):
    """Use COPY, not ADD, to copy local files.

    What it does
        Flags an ADD whose sources are all local files or folders that are not archives, and replaces the keyword
        with COPY.

    Why
        ADD also downloads URLs and unpacks local tar archives, by content, not by name. COPY says what happens and
        cannot surprise: a later rename of a file to something that looks like a tarball will not start unpacking it.

    Example
        ADD . /app
        becomes
        COPY . /app

    Gain
        No claim of size, rebuild steps or cache correctness: COPY says what the step does. Reported by default
        only when selected by its exact code (`--select DF202`).

    Fix safety
        Safe when the build context shows that no source is an archive (folders are copied as they are by both).
        Unsafe when only file names can be checked. Never offered for URLs, git sources, archive names or ADD-only
        flags (`--checksum`, `--keep-git-dir`, `--unpack`).
    """

    code = "DF202"
    name = "add-to-copy"
    summary = "ADD of local files does what COPY does, with surprises; use COPY."
    hadolint = ("DL3020",)
    valid = (
        "FROM debian\nADD https://example.invalid/app.tgz /opt/\n",
        "FROM debian\nADD rootfs.tar.gz /\n",
        "FROM debian\nADD --checksum=sha256:0 app.bin /app\n",
        "FROM debian\nCOPY . /app\n",
    )
    invalid = (
        Example("FROM debian\nADD . /app\n", "FROM debian\nCOPY . /app\n", context={"main.py": "print(1)\n"}),
        Example(
            "FROM debian\nadd --chown=1:1 config.yml /etc/app/\n",
            "FROM debian\ncopy --chown=1:1 config.yml /etc/app/\n",
            unsafe=True,
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        build_context = context.build_context
        for instruction in document.instructions:
            if instruction.cmd != "add" or len(instruction.value) < 2:
                continue
            sources = [s for s in instruction.value[:-1] if not s.startswith("<<")]
            if add_does_more_than_copy(instruction, sources) or any("$" in source for source in sources):
                continue
            applicability = self.applicability(build_context, instruction, sources)
            if applicability is None:
                continue
            start = instruction.start
            end = start + len(instruction.keyword)
            replacement = "copy" if instruction.keyword.islower() else "COPY"
            fix = self.fix("Replace ADD with COPY", [Edit(start, end, replacement)], applicability)
            yield self.finding(
                "ADD of local files: COPY does the same without unpacking or downloading",
                start,
                instruction.header_end,
                fix,
            )

    @staticmethod
    def applicability(
        context: BuildContext | None, instruction: Instruction, sources: list[str]
    ) -> Applicability | None:
        """SAFE when the context's contents show no archive among the sources, None when one is an archive."""
        if context is None or not context.has_contents or instruction.flag("from"):
            return Applicability.UNSAFE
        for source in sources:
            for path in context.glob(source) if any(c in source for c in "*?[") else [source]:
                if is_archive(context, path):
                    return None
        return Applicability.SAFE
