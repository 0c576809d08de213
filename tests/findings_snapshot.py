"""What every rule reports and fixes on the real and expert corpora, as a compact record to compare a refactoring
against (tests/test_findings_unchanged.py).

Per Dockerfile: each finding of the first pass as ``CODE start-end applicability digest`` (the digest covers the
message, the fix title and every edit) and a digest of the text after applying every fix (unsafe ones too) with the
other files those fixes write. Digests keep the snapshot small; a mismatch names the file, and
``python tests/findings_snapshot.py --show PATH`` prints what the digests stand for.

Regenerate (only for an intended change of findings or fixes, named in the commit):
    python tests/findings_snapshot.py --regenerate
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import EXPERT, SHARED_CORPUS, expert_dockerfiles, real_dockerfiles  # noqa: E402

from dockerfix.rewriter import engine  # noqa: E402
from dockerfix.rewriter.context import BuildContext  # noqa: E402
from dockerfix.rewriter.engine import Selection  # noqa: E402
from dockerfix.rewriter.fixes import Finding  # noqa: E402
from dockerfix.rewriter.source import Source, SourceError  # noqa: E402

SNAPSHOT = Path(__file__).resolve().parent / "data" / "findings_snapshot.json"
DIGEST_LENGTH = 12


def corpus_files() -> list[Path]:
    return real_dockerfiles() + expert_dockerfiles()


def build_context(path: Path) -> BuildContext | None:
    if EXPERT in path.parents:
        return BuildContext.from_directory(path.parent, dockerfile=path)
    listing = path.with_name(path.name.replace(".Dockerfile", ".context.txt"))
    return BuildContext.from_file_list(listing.read_text().splitlines()) if listing.exists() else None


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest()[
        :DIGEST_LENGTH
    ]


def finding_details(finding: Finding) -> dict:
    fix = finding.fix
    return {
        "message": finding.message,
        "fix": None
        if fix is None
        else {
            "title": fix.title,
            "edits": [[edit.start, edit.end, edit.content] for edit in fix.edits],
            "files": [[file.path, file.original, file.content] for file in fix.files],
        },
    }


def finding_line(finding: Finding) -> str:
    applicability = "no-fix" if finding.fix is None else finding.fix.applicability.label
    return f"{finding.code} {finding.start}-{finding.end} {applicability} {digest(finding_details(finding))}"


def fixed(path: Path) -> engine.FixResult | None:
    """The result of fixing ``path`` with every rule and unsafe fixes; None when the input itself does not parse."""
    try:
        source = Source.decode(path.read_bytes(), str(path))
        return engine.fix(source, Selection().rules(), build_context(path), unsafe_fixes=True)
    except SourceError:
        return None


def record(path: Path) -> dict:
    result = fixed(path)
    if result is None:
        return {"error": True}
    return {
        "findings": [finding_line(finding) for finding in result.findings],
        "text": digest([result.text, [[file.path, file.content] for file in result.files]]),
        "failures": sorted(f"{failure.code}: {failure.message}" for failure in result.failures),
    }


def key(path: Path) -> str:
    return path.relative_to(SHARED_CORPUS).as_posix()


def show(path: Path) -> None:
    result = fixed(path)
    if result is None:
        print("does not parse")
        return
    for finding in result.findings:
        print(finding_line(finding), json.dumps(finding_details(finding), indent=1))
    print("failures:", [failure.message for failure in result.failures])
    print(result.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--regenerate", action="store_true", help=f"rewrite {SNAPSHOT.name} from the current code")
    action.add_argument(
        "--show", type=Path, metavar="PATH", help="print the findings and fixed text of one corpus file"
    )
    arguments = parser.parse_args()
    if arguments.show:
        show(arguments.show.resolve())
        return
    snapshot = {key(path): record(path) for path in corpus_files()}
    SNAPSHOT.parent.mkdir(exist_ok=True)
    lines = [f"{json.dumps(name)}: {json.dumps(value, sort_keys=True)}" for name, value in sorted(snapshot.items())]
    SNAPSHOT.write_text("{\n" + ",\n".join(lines) + "\n}\n")  # one line per file: a change reads as a one-line diff
    print(f"{len(snapshot)} files recorded in {SNAPSHOT}")


if __name__ == "__main__":
    main()
