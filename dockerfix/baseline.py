"""A baseline: today's findings recorded so that a check reports only new ones (how a team adopts a linter on an old
repository).

A finding is recorded by a fingerprint of its rule, its file (relative to the baseline's folder) and the text of the
lines it covers with blanks collapsed, never its line numbers: a line inserted above it, or a re-indented step, leaves
it recorded. Findings with equal fingerprints are counted, so a second copy of a recorded step is new."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from msgspec import Struct
from msgspec.structs import replace

from .rewriter.files import FileError, read_regular
from .rewriter.pipeline import FileResult, ReportedFinding

FORMAT_VERSION = 1
# A baseline of a large monorepo holds some ten thousand fingerprints of ~100 bytes: the bound is far above that.
BASELINE_LIMIT = 50_000_000


class BaselineError(Exception):
    """A baseline file that cannot be read or written, named in the message."""


def fingerprint(path: str, text: str, finding: ReportedFinding, folder: Path) -> str:
    import hashlib  # starting OpenSSL costs milliseconds that a check without a baseline need not pay

    lines = text.splitlines()[finding.range.start.line - 1 : finding.range.end.line]
    covered = " ".join(" ".join(lines).split())
    return hashlib.sha256("\0".join((finding.code, _relative(path, folder), covered)).encode()).hexdigest()


def _relative(path: str, folder: Path) -> str:
    absolute = Path(os.path.abspath(path))
    return absolute.relative_to(folder).as_posix() if folder in absolute.parents else Path(path).as_posix()


def texts_of(paths: Sequence[Path], limit: int) -> dict[str, str]:
    """The text of each file before the run (a `--write` run changes it); a file that cannot be read is left out:
    its error is the run's to report."""
    texts = {}
    for path in paths:
        try:
            texts[str(path)] = read_regular(path, limit=limit).data.decode("utf-8-sig", "replace")
        except FileError:
            continue
    return texts


def _fingerprints(results: Sequence[FileResult], texts: Mapping[str, str], folder: Path) -> list[list[str]]:
    return [
        [fingerprint(result.path, texts.get(result.path, ""), finding, folder) for finding in result.findings]
        for result in results
    ]


def write(file: Path, results: Sequence[FileResult], texts: Mapping[str, str]) -> int:
    """Records the findings of ``results`` in ``file``; returns how many."""
    folder = Path(os.path.abspath(file)).parent
    counts = Counter(print_ for prints in _fingerprints(results, texts, folder) for print_ in prints)
    data = {"version": FORMAT_VERSION, "tool": "dockerfix", "fingerprints": dict(sorted(counts.items()))}
    try:
        temporary = file.with_name(f".{file.name}.tmp")
        temporary.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        temporary.replace(file)
    except OSError as error:
        raise BaselineError(f"{file}: cannot write the baseline: {error.strerror}") from None
    return sum(counts.values())


class Baseline(Struct, frozen=True):
    folder: Path
    counts: Mapping[str, int]

    def new_findings(self, results: Sequence[FileResult], texts: Mapping[str, str]) -> list[FileResult]:
        """``results`` without the findings the baseline records (as many of each fingerprint as it counts)."""
        left = Counter(self.counts)
        kept = []
        for result, prints in zip(results, _fingerprints(results, texts, self.folder), strict=True):
            findings = []
            for finding, print_ in zip(result.findings, prints, strict=True):
                if left[print_] > 0:
                    left[print_] -= 1
                else:
                    findings.append(finding)
            kept.append(replace(result, findings=tuple(findings)))
        return kept


def load(file: Path) -> Baseline:
    try:
        data = json.loads(read_regular(file, limit=BASELINE_LIMIT).data.decode("utf-8"))
    except FileError as error:
        raise BaselineError(f"{file}: {error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BaselineError(f"{file}: not a dockerfix baseline: {error}") from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise BaselineError(
            f"{file}: not a dockerfix baseline of version {FORMAT_VERSION} (write one with --write-baseline)"
        )
    prints = data.get("fingerprints")
    if not isinstance(prints, dict) or not all(
        isinstance(count, int) and not isinstance(count, bool) and count > 0 for count in prints.values()
    ):
        raise BaselineError(f"{file}: `fingerprints` must map fingerprints to counts")
    return Baseline(Path(os.path.abspath(file)).parent, prints)
