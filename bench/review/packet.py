"""Write a blind-review packet for one sample of bench/review/samples.tsv (issue 20, section 5).

Runs the `dockerfix` command on the sample's Dockerfiles (extracted by extract.py; each one's folder is its build
context) with default settings (a configuration file of their own is not read): as it is, for the findings and
what `--write` would write, and with `--unsafe-fixes`. For each Dockerfile the packet has one markdown file: the
Dockerfile with line numbers, each finding (id, code, lines, message, stated gain, its fix's kind and title, and the
diff that fix alone would make) and the whole-file diffs of both runs. A DF001 finding (a generated file: one
finding, for its template) comes with the findings it counts, from a third run that treats the file as an ordinary
one. It shows what a user sees, never a rule's
source, documentation or reasons. `labels.csv` has one empty row per finding for the reviewer; `index.md` says
how to label and lists the files.
Run: `python bench/review/packet.py A --sample-dir /work/review/A --out /work/review/packet-A`.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from dockerfix.rewriter.fixes import Edit, Savings, apply_edits
from dockerfix.rewriter.pipeline import unified_diff
from dockerfix.rewriter.source import Source, SourceError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from extract import local_folder, sample_rows  # noqa: E402  (a sibling script, not a package)

GENERATED_FILE_CODE = "DF001"
LABELS = (
    ("useful", "you would merge it"),
    ("pointless", "true, but saves nothing worth a pull request"),
    ("false positive", "the claim is wrong"),
    ("harmful", "applying it breaks the build or changes what the image does"),
)


def run_dockerfix(
    folder: Path, paths: list[str], configuration: str = "", unsafe_fixes: bool = False
) -> dict[str, dict]:
    """The `dockerfix --output-format json` result of each file (a path relative to ``folder``, where dockerfix runs,
    so diffs name the files as the repository does), by path, with ``configuration`` as the only settings."""
    if not paths:
        return {}
    with tempfile.TemporaryDirectory() as settings_folder:
        settings = Path(settings_folder) / ".dockerfix.toml"
        settings.write_text(configuration)
        command = [
            sys.executable,
            "-m",
            "dockerfix",
            "--no-progress",
            "--output-format",
            "json",
            "--config",
            str(settings),
        ]
        done = subprocess.run(
            command + (["--unsafe-fixes"] if unsafe_fixes else []) + paths, cwd=folder, capture_output=True, text=True
        )
    # exit 2 with a report: some files could not be read (an empty Dockerfile); their pages say why
    unreadable_files_only = done.returncode == 2 and done.stdout.lstrip().startswith("{")
    if done.returncode not in (0, 1) and not unreadable_files_only:
        raise SystemExit(f"dockerfix failed in {folder} (exit {done.returncode}): {done.stderr}")
    return {result["path"]: result for result in json.loads(done.stdout)["files"]}


def fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def block(text: str, language: str = "") -> str:
    marks = fence(text)
    return f"{marks}{language}\n{text if text.endswith(chr(10)) or not text else text + chr(10)}{marks}\n"


def numbered(text: str) -> str:
    lines = text.splitlines()
    width = len(str(len(lines)))
    return "".join(f"{number:>{width}} | {line}\n" for number, line in enumerate(lines, 1))


def fix_diff(source: Source, display_path: str, fix: dict) -> str:
    """The diff this fix alone makes to the original file (and to other files of the context it writes)."""
    edits = [
        Edit(
            source.offset(edit["range"]["start"]["line"], edit["range"]["start"]["column"]),
            source.offset(edit["range"]["end"]["line"], edit["range"]["end"]["column"]),
            edit["content"],
        )
        for edit in fix["edits"]
    ]
    diff = unified_diff(display_path, source.text, apply_edits(source.text, edits))
    for other in fix.get("files", ()):
        diff += (
            f"(also writes {other['path']}{' (a new file)' if other['created'] else ''}:)\n{block(other['content'])}"
        )
    return diff


def stated_gain(savings: dict | None) -> str:
    """The claim in the words every surface uses (the JSON `savings`, read back as the engine's ``Savings``)."""
    return (Savings(**savings).describe() if savings else "") or "none stated"


def lines_of(finding: dict) -> str:
    start, end = finding["range"]["start"]["line"], finding["range"]["end"]["line"]
    return str(start) if start == end else f"{start}-{end}"


def finding_section(heading: str, finding: dict, source: Source, display_path: str) -> list[str]:
    fix = finding["fix"]
    parts = [
        f"{heading}: {finding['code']} ({finding['name']}), line {lines_of(finding)}\n\n",
        f"- message: {finding['message']}\n",
        f"- stated gain: {stated_gain(finding['savings'])}\n",
        f"- fix: {fix['applicability']}: {fix['title']}\n\n" if fix else "- fix: none offered\n\n",
    ]
    if fix:
        parts += [
            "What this fix alone changes:\n\n",
            block(fix_diff(source, display_path, fix) or "(no change)\n", "diff"),
            "\n",
        ]
    return parts


def page(row: dict, file_id: str, source: Source | None, runs: dict[str, dict]) -> str:
    """The review page of one Dockerfile; ``runs`` holds its results with default settings, with unsafe fixes and,
    for a generated file, as an ordinary file."""
    default = runs["default"]
    parts = [
        f"# {file_id}: {row['repository']} `{row['path']}`\n\n",
        f"Repository {row['repository']} at commit {row['commit']}; the build context is the Dockerfile's folder.\n\n",
    ]
    if source is None:
        parts.append(f"dockerfix could not read this file: {default.get('error')}\n")
        return "".join(parts)
    parts += ["## Dockerfile\n\n", block(numbered(source.text), "text"), "\n"]
    for problem in (*default.get("rule_failures", ()), *default.get("warnings", ())):
        parts.append(f"dockerfix noted: {problem}\n\n")
    findings = default["findings"]
    parts.append(f"## Findings ({len(findings)})\n\n" if findings else "## Findings\n\nNone.\n\n")
    for number, finding in enumerate(findings, 1):
        parts += finding_section(f"### {file_id}-{number}", finding, source, row["path"])
        if finding["code"] == GENERATED_FILE_CODE:
            underlying = runs["generated as ordinary"]["findings"]
            parts.append(
                f"The {len(underlying)} finding(s) this one counts, as dockerfix reports them with "
                '`generated-files = "fix"` (the file treated as an ordinary one; they are part of '
                f"{file_id}-{number}, not labelled apart):\n\n"
            )
            for inner, counted in enumerate(underlying, 1):
                parts += finding_section(f"#### {file_id}-{number}.{inner}", counted, source, row["path"])
    for title, run in (("`dockerfix --write`", "default"), ("`dockerfix --write --unsafe-fixes`", "unsafe")):
        diff = runs[run]["diff"]
        parts += [f"## What {title} writes\n\n", block(diff, "diff") if diff else "Nothing.\n", "\n"]
    return "".join(parts)


def sample_runs(sample_dir: Path, rows: list[dict]) -> dict[tuple[str, str], dict[str, dict]]:
    """Each Dockerfile's results by (repository, path): dockerfix runs in each repository's folder."""
    repositories = sorted({row["repository"] for row in rows})
    runs: dict[tuple[str, str], dict[str, dict]] = {}
    for repository in repositories:
        folder = sample_dir / local_folder(repository)
        paths = [row["path"] for row in rows if row["repository"] == repository]
        default = run_dockerfix(folder, paths)
        unsafe = run_dockerfix(folder, paths, unsafe_fixes=True)
        generated = [path for path in paths if any(f["code"] == GENERATED_FILE_CODE for f in default[path]["findings"])]
        as_ordinary = run_dockerfix(folder, generated, configuration='generated-files = "fix"\n')
        for path in paths:
            runs[(repository, path)] = {"default": default[path], "unsafe": unsafe[path]}
            if path in as_ordinary:
                runs[(repository, path)]["generated as ordinary"] = as_ordinary[path]
    return runs


def file_identifier(sample: str, index: int) -> str:
    return f"{sample}{index:03d}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sample", help="the sample's name in samples.tsv (A or B)")
    parser.add_argument("--sample-dir", type=Path, required=True, help="where extract.py put the sample")
    parser.add_argument("--out", type=Path, required=True, help="a folder that does not exist yet")
    arguments = parser.parse_args()
    if arguments.out.exists():
        print(
            f"{arguments.out} exists: write the packet into a new folder (nothing there is overwritten)",
            file=sys.stderr,
        )
        return 2
    rows = sample_rows(arguments.sample)
    runs = sample_runs(arguments.sample_dir, rows)
    arguments.out.mkdir(parents=True)
    per_rule: Counter = Counter()
    rule_repositories: dict[str, set[str]] = defaultdict(set)
    labels, index_lines = [], []
    for index, row in enumerate(rows, 1):
        file_id = file_identifier(arguments.sample, index)
        path = arguments.sample_dir / local_folder(row["repository"]) / row["path"]
        try:
            source = Source.decode(path.read_bytes(), row["path"])
        except SourceError:
            source = None
        file_runs = runs[(row["repository"], row["path"])]
        (arguments.out / f"{file_id}.md").write_text(page(row, file_id, source, file_runs))
        findings = file_runs["default"]["findings"]
        for number, finding in enumerate(findings, 1):
            per_rule[finding["code"]] += 1
            rule_repositories[finding["code"]].add(row["repository"])
            labels.append((arguments.sample, f"{file_id}.md", f"{file_id}-{number}", finding["code"], "", ""))
        index_lines.append(f"| [{file_id}]({file_id}.md) | {row['repository']} | `{row['path']}` | {len(findings)} |\n")
    with (arguments.out / "labels.csv").open("w", newline="") as table:
        writer = csv.writer(table)
        writer.writerow(("sample", "file", "finding id", "code", "label", "note"))
        writer.writerows(labels)
    label_help = "".join(f"- `{label}`: {meaning}\n" for label, meaning in LABELS)
    (arguments.out / "index.md").write_text(
        f"# Blind review, sample {arguments.sample}: {len(rows)} Dockerfiles, {len(labels)} findings\n\n"
        "Each file below shows a Dockerfile, what dockerfix reports on it with default settings, and the diff each "
        "finding's fix would make. Judge each finding as the image's maintainer would, and fill in `labels.csv` "
        "(one row per finding) with one of:\n\n"
        + label_help
        + "\nThe note says why, in a few words (for harmful: what breaks or changes). Each Dockerfile's build context "
        f"(its folder: scripts, configuration) is under `{arguments.sample_dir}/<owner>+<name>/`.\n\n"
        "| file | repository | path | findings |\n|---|---|---|---:|\n" + "".join(index_lines)
    )
    print(f"{arguments.out}: {len(rows)} Dockerfiles, {len(labels)} findings")
    print("| rule | findings | repositories |\n|---|---:|---:|")
    for code, count in sorted(per_rule.items()):
        print(f"| {code} | {count} | {len(rule_repositories[code])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
