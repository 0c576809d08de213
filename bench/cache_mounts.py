"""Cache-mount fixes on a corpus: per tool, how many files and RUNs get one with target = "buildkit", and how many
findings of the same rules keep their legacy fix (flag or cleanup) because the cache folder or the user is not
certain; then the same findings with target = "legacy", which must offer no mount. For the compiled languages
(DF205, one finding per stage and the stages built on it): how many files run the tool at all, how many get a
finding, and how many of those fixes are unsafe or only a suggestion (display-only).

    python bench/cache_mounts.py [corpus folder]
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.source import Source, SourceError
from dockerfix.rules.df205_build_cache_mount import TOOLS as COMPILED_TOOLS
from dockerfix.rules.df205_build_cache_mount import tool_use

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"
RULES = Selection().rules()
TARGET_RULES = {rule.code: rule.name for rule in RULES if rule.buildkit_syntax}
MOUNT_TARGET = re.compile(r"--mount=type=cache,target=([^, ]+)")


# the last folders of each compiled language's caches (DF205), read first: `cargo` holds `go`, `.../registry` no tool
COMPILED_FOLDERS = (
    ("cargo", ("/registry", "/git")),
    ("maven", ("/repository",)),
    ("gradle", ("/caches", "/wrapper/dists")),
    ("go", ("/pkg/mod", "/go-build")),
)
# a target names its tool: pnpm before npm (`/root/.cache/pnpm`), pypoetry before pip, uv's `.cache/uv` last
TOOLS = (
    ("pnpm", "pnpm"),
    ("pypoetry", "poetry"),
    ("pip", "pip"),
    ("npm", "npm"),
    ("yarn", "yarn"),
    ("apt", "apt"),
    ("composer", "composer"),
    ("/uv", "uv"),
)


def tool_of(target: str) -> str:
    compiled = next((tool for tool, endings in COMPILED_FOLDERS if target.endswith(endings)), None)
    return compiled or next((tool for part, tool in TOOLS if part in target), target)


def tools_run(document) -> set[str]:
    """The compiled languages' tools the file's RUNs run (what DF205 looks for)."""
    return {
        use.tool
        for instruction in document.instructions
        if instruction.cmd == "run" and instruction.shell is not None
        for command in instruction.shell.simple_commands()
        if (use := tool_use(command)) is not None
    }


def main(corpus: Path) -> None:
    files: dict[str, set[str]] = defaultdict(set)
    runs: Counter[str] = Counter()
    kept_legacy: Counter[str] = Counter()
    legacy_mounts = 0
    running: dict[str, set[str]] = defaultdict(set)
    compiled: Counter[tuple[str, str]] = Counter()
    for path in sorted(corpus.glob("*.Dockerfile")):
        try:
            document = parse(Source.decode(path.read_bytes(), str(path)))
        except SourceError:
            continue
        for tool in tools_run(document):
            running[tool].add(path.name)
        for finding in engine.check(document, RULES, options={"target": "buildkit"}):
            if finding.code not in TARGET_RULES or finding.fix is None:
                continue
            targets = {tool_of(match) for edit in finding.fix.edits for match in MOUNT_TARGET.findall(edit.content)}
            if finding.code == "DF205":
                compiled.update((tool, finding.fix.applicability.label) for tool in targets)
            for tool in targets:
                files[tool].add(path.name)
                runs[tool] += 1
            if not targets:
                kept_legacy[finding.code] += 1
        legacy_mounts += sum(
            1
            for finding in engine.check(document, RULES, options={"target": "legacy"})
            if finding.fix and any("--mount" in edit.content for edit in finding.fix.edits)
        )
    print(f"corpus: {corpus}")
    print("| tool | files with a cache-mount fix | findings (RUNs) |\n|---|---|---|")
    for tool in sorted(set(files) | {tool for _, tool in TOOLS}):
        print(f"| {tool} | {len(files[tool])} | {runs[tool]} |")
    print("\n| rule | findings keeping the legacy fix under buildkit |\n|---|---|")
    for code in sorted(TARGET_RULES):
        print(f"| {code} {TARGET_RULES[code]} | {kept_legacy[code]} |")
    print(f"\nfixes writing --mount with target = legacy: {legacy_mounts}")
    print(
        "\n| DF205 tool | files running it | files with a finding | findings | unsafe | display-only |\n"
        "|---|---|---|---|---|---|"
    )
    for tool in COMPILED_TOOLS:
        unsafe, display = compiled[(tool, "unsafe")], compiled[(tool, "display-only")]
        print(f"| {tool} | {len(running[tool])} | {len(files[tool])} | {runs[tool]} | {unsafe} | {display} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
