"""What the pull request says: title, commit message and the body rendered from a (user-overridable) template, with
a hidden fingerprint of the fixes so a later run recognises a pull request a human closed."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2.sandbox import SandboxedEnvironment

from ..rendering import environment
from ..rewriter.pipeline import FileResult

TITLE = "build(docker): optimise Dockerfiles with dockerfix"
TEMPLATE = "pull_request.md.j2"
_FINGERPRINT = re.compile(r"<!-- dockerfix-bot fingerprint=([0-9a-f]{16}) -->")
CLOSED_MARK = "<!-- dockerfix-bot closed -->"
# what ends a line for Markdown, for git's commit message or for a terminal, or hides text
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class ChangedFile:
    """One Dockerfile the fixes changed, by its path in the repository."""

    path: str
    result: FileResult

    @property
    def applied(self):
        return [finding for finding in self.result.findings if finding.fixable and finding.fix is not None]

    @property
    def unapplied(self) -> int:
        return len(self.result.findings) - len(self.applied)


def fingerprint(diff_without_context: str) -> str:
    """Identifies the fixes by the lines they remove and add, per file: not by line numbers or the blobs' ids, so
    unrelated commits on the base branch leave it unchanged."""
    kept = [line for line in diff_without_context.splitlines() if line.startswith(("+", "-", "diff --git"))]
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()[:16]


def fingerprint_in(body: str) -> str | None:
    """The fingerprint of the bot's own marker: always the body's last line (`render_body` puts it there), so text
    above it (a file name, a human's edit) never counts."""
    match = _FINGERPRINT.fullmatch(_last_line(body))
    return match.group(1) if match else None


def without_fingerprint(body: str) -> str:
    """The body with its marker line replaced, so a closed pull request never holds back the same fixes later."""
    last = _last_line(body)
    if not _FINGERPRINT.fullmatch(last):
        return body
    return body[: body.rindex(last)] + CLOSED_MARK + body[body.rindex(last) + len(last) :]


def _last_line(body: str) -> str:
    lines = body.rstrip().splitlines()
    return lines[-1].strip() if lines else ""


def printable(name: str) -> str:
    """``name`` on one line, with nothing invisible: each control, line-separating or direction-changing character
    written as its escape (`\\n`, `\\u202e`)."""
    return _UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape").decode(), name)


def code_span(text: str) -> str:
    """``text`` as a Markdown code span that nothing in it can end: fenced by more backticks than its longest run."""
    text = printable(text)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    # Markdown drops one space at each end of a span that has both, and a backtick at an end would join the fence
    padding = " " if text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " " and text.strip(" ")) else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _size(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _totals(files: Sequence[ChangedFile]) -> list[str]:
    """What the applied fixes save together: only stated byte gains are summed (a lower bound when one is); the
    unknown ones are counted as unknown, never as 0."""
    claims = [finding.savings for file in files for finding in file.applied if finding.savings]
    totals = []
    stated = [claim for claim in claims if claim["bytes"] is not None]
    if stated:
        at_least = "at least " if any(claim["bytes_at_least"] for claim in stated) else ""
        totals.append(f"{at_least}{_size(sum(claim['bytes'] for claim in stated))} of image")
    unknown = sum(1 for claim in claims if claim["bytes"] is None and claim["bytes_unknown"] is not None)
    if unknown:
        totals.append(f"{unknown} change{'s' if unknown != 1 else ''} of unknown byte gain")
    steps = sum(claim["rebuilt_steps_after_source_edit"] or 0 for claim in claims)
    if steps > 0:
        totals.append(f"{steps} step{'s' if steps != 1 else ''} fewer re-run after a source edit")
    corrected = sum(1 for claim in claims if claim["cache_correctness"])
    if corrected:
        totals.append(f"{corrected} cache correctness fix{'es' if corrected != 1 else ''}")
    layers = sum(claim["layers"] or 0 for claim in claims)
    if layers:
        totals.append(f"{layers} layer{'s' if layers != 1 else ''} fewer")
    return totals


def context(files: Sequence[ChangedFile], diff: str, branch: str, unsafe_fixes: bool, verification: str | None) -> dict:
    rows = [
        {
            "path": code_span(file.path),
            "rows": [
                {
                    "code": finding.code,
                    "name": finding.name,
                    "change": printable(finding.fix.title),
                    "layers": (finding.savings or {}).get("layers"),
                    "bytes": (finding.savings or {}).get("bytes"),
                    "bytes_unknown": (finding.savings or {}).get("bytes_unknown"),
                    "rebuilt_steps": (finding.savings or {}).get("rebuilt_steps_after_source_edit"),
                    "saving": printable(finding.claim),
                }
                for finding in file.applied
            ],
        }
        for file in files
    ]
    return {
        "files": rows,
        "totals": _totals(files),
        "diff": diff,
        "diff_fence": "`" * max(4, max((len(run) + 1 for run in re.findall(r"`+", diff)), default=0)),
        "unapplied": sum(file.unapplied for file in files),
        "verification": verification,
        "unsafe_fixes": unsafe_fixes,
        "branch": code_span(branch),
    }


def read_template(path: Path) -> str:
    """The text of a user's body template: a regular file, not reached through a symbolic link anywhere on its path.
    In the GitHub Action the template is a path in the repository, and a link there could point at any file of the
    runner (``/proc/self/environ`` holds the token)."""
    absolute = path.absolute()
    for part in (absolute, *absolute.parents):
        if part.is_symlink():
            raise ValueError(
                f"{path}: the body template is reached through a symbolic link ({part}); give its real path"
            )
    # O_NONBLOCK: a FIFO given as the template must not block the run before the check below refuses it
    descriptor = os.open(absolute, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError(f"{path}: the body template is not a regular file")
        return handle.read().decode("utf-8")


def render_body(values: dict, fixes_fingerprint: str, template: str | None = None) -> str:
    """The body from the shipped template or the text of the user's, followed by the fingerprint comment, which a
    custom template cannot drop. A user's template is data: sandboxed (no Python internals), and it can load only
    the shipped templates (to extend them), never a file beside it."""
    if template is None:
        text = environment().get_template(TEMPLATE).render(**values)
    else:
        shipped = environment()
        sandbox = SandboxedEnvironment(
            loader=shipped.loader,
            keep_trailing_newline=shipped.keep_trailing_newline,
            trim_blocks=shipped.trim_blocks,
            lstrip_blocks=shipped.lstrip_blocks,
            undefined=shipped.undefined,
        )
        text = sandbox.from_string(template).render(**values)
    return f"{text.rstrip()}\n\n<!-- dockerfix-bot fingerprint={fixes_fingerprint} -->\n"


def commit_message(files: Sequence[ChangedFile]) -> str:
    lines = [TITLE, ""]
    for file in files:
        codes = ", ".join(dict.fromkeys(finding.code for finding in file.applied))
        lines.append(f"- {printable(file.path)}: {codes}" if codes else f"- {printable(file.path)}")
    return "\n".join(lines) + "\n"
