"""Mutating real Dockerfiles and judging what the engine makes of them: shared by tests/test_fuzz.py (hypothesis,
a bounded number of examples in CI) and bench/fuzz.py (random, 50,000 or more, a table).

A mutation is plain data (``Mutation``), so hypothesis and ``random`` draw the same kinds of change: delete,
duplicate or swap lines, and insert at any point of a line the tokens that change how Dockerfiles and shells split
text (escapes, quotes, heredoc markers, `&&`, `;`, `#`, flags).
"""

from __future__ import annotations

import csv
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from random import Random

import dockerfile

from dockerfix.rewriter import engine
from dockerfix.rewriter.budget import OverBudget, time_budget
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.engine import FixResult, Selection
from dockerfix.rewriter.source import Source, SourceError

SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
KINDS = ("delete", "duplicate", "swap", "insert")
TOKENS = (
    "\\",
    "\\ ",
    " \\",
    "\\\n",
    "\\ ;",
    " \\ \t",
    "`",
    "'",
    '"',
    "<<EOF",
    "<<-EOF",
    "<<'EOF'",
    "\nEOF\n",
    "EOF",
    " && ",
    "&&",
    ";",
    " ; ",
    "#",
    "# ",
    "\n#",
    "$",
    "${",
    "}",
    "(",
    ")",
    "|",
    "&",
    "\n",
    " ",
    "\t",
    "RUN ",
    "--mount=type=cache,target=/root/.cache ",
    "--from=build ",
    "--chown=1:1 ",
    "--link ",
    "[",
    "]",
    '["sh", "-c"]',
    "=",
    "apt-get update && apt-get install -y curl",
    "pip install x",
    "rm -rf /var/lib/apt/lists/*",
    "cd /tmp",
    "set -e",
    "exit 0",
    "é",
    # stage names that clash: a stage named like its image, like an earlier stage, in another case
    " AS golang",
    " AS base",
    "\nFROM golang AS golang\n",
    "\nFROM base AS BASE\n",
    "\nFROM ${BASE} AS base\n",
)
# Far above what one mutated corpus file takes, so only a loop that does not end reaches it (issue 19, item 8).
JUDGE_BUDGET = 30.0
RULES = Selection().rules()


@dataclass(frozen=True)
class Mutation:
    """One change to a file's lines; ``first``/``second`` pick lines and ``column`` a point in a line as fractions
    in [0, 1) of their range, so a mutation means something for every file."""

    kind: str
    first: float
    second: float
    column: float
    token: int


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    context: BuildContext | None

    @property
    def text(self) -> str:
        return self.path.read_bytes().decode("utf-8")


@lru_cache(maxsize=1)
def corpus_files() -> tuple[CorpusFile, ...]:
    """The real, expert and BuildKit-parser Dockerfiles, each with its build context where the corpus has one."""
    found = []
    for path in sorted((SHARED_CORPUS / "real").glob("*.Dockerfile")):
        listing = path.with_name(path.name.replace(".Dockerfile", ".context.txt"))
        found.append(
            CorpusFile(
                path, BuildContext.from_file_list(listing.read_text().splitlines()) if listing.exists() else None
            )
        )
    provenance = SHARED_CORPUS / "expert" / "PROVENANCE.tsv"
    if provenance.exists():
        with provenance.open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                folder = SHARED_CORPUS / "expert" / row["folder"]
                found.append(CorpusFile(folder / row["dockerfile"], BuildContext.from_directory(folder)))
    found.extend(CorpusFile(path, None) for path in sorted((SHARED_CORPUS / "buildkit-parser").rglob("Dockerfile")))
    return tuple(corpus_file for corpus_file in found if _is_utf8(corpus_file.path))  # decoding is tested elsewhere


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def mutate(text: str, mutations: list[Mutation]) -> str:
    lines = text.splitlines(keepends=True) or [""]
    for mutation in mutations:
        first = int(mutation.first * len(lines))
        second = int(mutation.second * len(lines))
        if mutation.kind == "delete" and len(lines) > 1:
            del lines[first]
        elif mutation.kind == "duplicate":
            lines.insert(second, lines[first])
        elif mutation.kind == "swap":
            lines[first], lines[second] = lines[second], lines[first]
        elif mutation.kind == "insert":
            line = lines[first]
            column = int(mutation.column * (len(line.rstrip("\r\n")) + 1))
            lines[first] = line[:column] + TOKENS[mutation.token % len(TOKENS)] + line[column:]
    return "".join(lines)


def random_mutations(random: Random) -> list[Mutation]:
    return [
        Mutation(random.choice(KINDS), random.random(), random.random(), random.random(), random.randrange(len(TOKENS)))
        for _ in range(random.randint(1, 4))
    ]


def buildkit_accepts(text: str) -> bool:
    try:
        dockerfile.parse_string(text)
    except dockerfile.GoParseError:
        return False
    return True


@dataclass
class Verdict:
    """What happened to one mutated file. ``problems`` is empty when the engine did everything it promises."""

    input_accepted: bool = False
    exception: str | None = None
    hang: str | None = None
    parser_disagreement: str | None = None
    output_rejected: bool = False
    not_idempotent: bool = False
    invariant_violations: list[str] = field(default_factory=list)
    rule_failures: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = [self.exception, self.hang, self.parser_disagreement] + self.invariant_violations + self.rule_failures
        found += ["output rejected by BuildKit"] * self.output_rejected + [
            "a second run changed the output"
        ] * self.not_idempotent
        return [problem for problem in found if problem]


def is_invariant_violation(failure: engine.RuleFailure) -> bool:
    """A fix the engine dropped because its output did not parse or disturbed what it did not edit."""
    return failure.message.startswith("fix ") and failure.message.endswith("; not applied")


def judge(text: str, context: BuildContext | None) -> Verdict:
    """Fix ``text`` with every rule (unsafe fixes too) and check the promises: no exception; when BuildKit accepts
    the input, we parse it, BuildKit accepts the output, a second run changes nothing, and no rule fails."""
    verdict = Verdict(input_accepted=buildkit_accepts(text))
    try:
        with time_budget(JUDGE_BUDGET):
            result = engine.fix(Source(text), RULES, context, unsafe_fixes=True)
    except OverBudget as over:
        verdict.hang = f"{over.rule or 'the engine'} did not finish within {JUDGE_BUDGET:g} s"
        return verdict
    except SourceError as error:
        if verdict.input_accepted:
            verdict.parser_disagreement = f"BuildKit accepts the input, we reject it: {error}"
        return verdict
    except Exception:  # the point of fuzzing: any exception is a finding
        verdict.exception = traceback.format_exc(limit=-3)
        return verdict
    if not verdict.input_accepted:
        verdict.parser_disagreement = "we accept an input BuildKit rejects"
        return verdict
    _judge_result(verdict, result, context)
    return verdict


def _judge_result(verdict: Verdict, result: FixResult, context: BuildContext | None) -> None:
    for failure in result.failures:
        target = verdict.invariant_violations if is_invariant_violation(failure) else verdict.rule_failures
        target.append(f"{failure.code}: {failure.message}")
    if not result.changed:
        return
    if not buildkit_accepts(result.text):
        verdict.output_rejected = True
        return
    try:
        again = engine.fix(Source(result.text), RULES, context, unsafe_fixes=True)
    except Exception:
        verdict.exception = "on the output: " + traceback.format_exc(limit=-3)
        return
    verdict.not_idempotent = again.text != result.text
