"""What the pull request says: title, commit message and the body rendered from a (user-overridable) template, with
a hidden fingerprint of the fixes so a later run recognises a pull request a human closed."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from ..rendering import environment
from ..rewriter.pipeline import FileResult

TITLE = "build(docker): optimise Dockerfiles with dockerfix"
TEMPLATE = "pull_request.md.j2"
SAVINGS_KEYS = ("layers", "bytes", "rebuilt_steps_after_source_edit", "rebuilt_steps_before", "rebuilt_steps_after")
_FINGERPRINT = re.compile(r"<!-- dockerfix-bot fingerprint=([0-9a-f]{16}) -->")


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
    match = _FINGERPRINT.search(body)
    return match.group(1) if match else None


def _size(count: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def _saving(layers: int | None, size: int | None, steps: int | None, steps_before: int | None = None, steps_after: int | None = None) -> str:
    parts = []
    if layers:
        parts.append(f"{layers} layer{'s' if layers != 1 else ''}")
    if size:
        parts.append(f"~{_size(size)}")
    if steps and steps_before is not None and steps_after is not None:
        parts.append(f"a source edit rebuilds {steps_after} step{'s' if steps_after != 1 else ''} instead of {steps_before}")
    elif steps:
        parts.append(f"{steps} step{'s' if steps != 1 else ''} not rebuilt after a source edit")
    return ", ".join(parts)


def _total(files: Sequence[ChangedFile], key: str) -> int:
    return sum((finding.savings or {}).get(key) or 0 for file in files for finding in file.applied)


def context(files: Sequence[ChangedFile], diff: str, branch: str, unsafe_fixes: bool, verification: str | None) -> dict:
    rows = [
        {
            "path": file.path,
            "rows": [
                {
                    "code": finding.code,
                    "name": finding.name,
                    "change": finding.fix.title,
                    "layers": (finding.savings or {}).get("layers"),
                    "bytes": (finding.savings or {}).get("bytes"),
                    "rebuilt_steps": (finding.savings or {}).get("rebuilt_steps_after_source_edit"),
                    "saving": _saving(*((finding.savings or {}).get(key) for key in SAVINGS_KEYS)),
                }
                for finding in file.applied
            ],
        }
        for file in files
    ]
    layers, size, steps = (_total(files, key) for key in ("layers", "bytes", "rebuilt_steps_after_source_edit"))
    totals = [part for part in _saving(layers, size, steps).split(", ") if part]
    return {
        "files": rows,
        "totals": totals,
        "diff": diff,
        "unapplied": sum(file.unapplied for file in files),
        "verification": verification,
        "unsafe_fixes": unsafe_fixes,
        "branch": branch,
    }


def render_body(values: dict, fixes_fingerprint: str, template: Path | None = None) -> str:
    """The body from the shipped template or the user's (sandboxed: a template is data, it must not run code),
    followed by the fingerprint comment, which a custom template cannot drop."""
    if template is None:
        text = environment().get_template(TEMPLATE).render(**values)
    else:
        sandbox = SandboxedEnvironment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(template.parent), environment().loader]),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        text = sandbox.get_template(template.name).render(**values)
    return f"{text.rstrip()}\n\n<!-- dockerfix-bot fingerprint={fixes_fingerprint} -->\n"


def commit_message(files: Sequence[ChangedFile]) -> str:
    lines = [TITLE, ""]
    for file in files:
        codes = ", ".join(dict.fromkeys(finding.code for finding in file.applied))
        lines.append(f"- {file.path}: {codes}" if codes else f"- {file.path}")
    return "\n".join(lines) + "\n"
