"""The contract between the engine and a rule.

A rule is a ``Rule`` subclass in its own module. It documents itself (its docstring has the sections What it does,
Why, Example and Fix safety) and carries examples the test suite runs: ``valid`` texts it must not flag and
``invalid`` examples with the text expected after its fixes. It looks at a parsed document and yields findings; it
never edits anything itself. A rule that can be configured declares its ``options``: top-level configuration keys
the configuration loader validates and the engine hands to every rule in ``RuleContext.options``.

A layer rule (``layer_rule = True``) reports what a stage's layers hold; the engine keeps its findings only in the
stages that ship (``stages.shipped_stages``, for the ``target-stage`` option). A rule that judges the file as a
whole may ``review`` the other rules' findings and replace them (a generated file is fixed at its template).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from msgspec import Struct, field

from .fixes import Applicability, ContentChange, Edit, FileEdit, Finding, Fix, Savings
from .lazypattern import LazyPattern

if TYPE_CHECKING:
    from .context import BuildContext
    from .document import Document, Instruction

CODE_PATTERN = LazyPattern(r"^DF\d{3}$")
DOC_SECTIONS = ("What it does", "Why", "Example", "Fix safety")


class Example(Struct, frozen=True):
    """An example the rule must flag. ``fixed`` is the text after applying its fixes (None: no fix expected);
    ``unsafe`` says the fix is only applied with unsafe fixes on; ``context`` lists build-context files and
    ``fixed_files`` the texts the fixes give other files of it."""

    before: str
    fixed: str | None = None
    unsafe: bool = False
    context: Mapping[str, str] | None = None
    options: Mapping[str, Any] | None = None  # configuration the example runs with, as the configuration file sets it
    fixed_files: Mapping[str, str] | None = None  # the other files of the context after the fixes, by path


class Option(Struct, frozen=True):
    """A setting a rule reads: a top-level key of `.dockerfix.toml` / `[tool.dockerfix]`. ``parse`` turns the TOML
    value into what the rule reads, raising ``ValueError`` that says what is wrong, so a bad value fails when the
    configuration is loaded instead of silently in the rule."""

    name: str
    default: Any
    description: str
    parse: Callable[[Any], Any]


def _stage_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be the name of a stage (`docker build --target NAME`)")
    return value.strip().lower()


TARGET_STAGE = Option(
    "target-stage",
    None,
    "the stage `docker build --target` builds (default: the last); layer findings count only in it and the stages it "
    "is built FROM",
    _stage_name,
)
BUILDERS = ("buildkit", "legacy")


def _builder(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in BUILDERS:
        raise ValueError(f"must be one of {', '.join(map(repr, BUILDERS))}")
    return value.strip().lower()


TARGET = Option(
    "target",
    "buildkit",
    "the builder the Dockerfiles are built with: `buildkit` (the default since Docker 23) lets fixes write BuildKit "
    "syntax (`RUN --mount`, `COPY --chmod`, `COPY --link`, heredocs); `legacy` (the classic builder) never does",
    _builder,
)
GLOBAL_OPTIONS = (TARGET_STAGE, TARGET)  # settings of the whole run: the engine reads them, any rule may


class RuleContext(Struct, frozen=True):
    """What a rule may consult besides the document."""

    build_context: BuildContext | None = None
    suppressions: Suppressions | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # parsed values of the options the configuration sets

    def is_suppressed(self, instruction: Instruction, code: str) -> bool:
        return self.suppressions is not None and self.suppressions.suppresses(instruction, code)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    hadolint: ClassVar[tuple[str, ...]] = ()
    valid: ClassVar[tuple[str, ...]] = ()
    invalid: ClassVar[tuple[Example, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()
    layer_rule: ClassVar[bool] = False  # its findings concern files left in layers: only stages that ship count
    # what its fixes write that only BuildKit builds (with `target = "buildkit"`; never with "legacy"); "" for none
    buildkit_syntax: ClassVar[str] = ""
    # runs only when selected by its own code or `ALL`, never by a prefix: a rule that has not passed the blind review
    opt_in: ClassVar[bool] = False
    # options of an opt-in rule that select it when set (`pin-digests = true` asks for DF303 by itself)
    selected_by_options: ClassVar[tuple[str, ...]] = ()
    # the default of every option a rule (a subclass) may read, by name: rules ask per instruction (some 14,000 times
    # over the real corpus with the fix loop), and building this table per question was 2% of the run
    option_defaults: ClassVar[Mapping[str, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.option_defaults = {option.name: option.default for option in (*GLOBAL_OPTIONS, *cls.options)}

    def check(self, document: Document, context: RuleContext) -> Iterable[Finding]:
        raise NotImplementedError

    def review(
        self, document: Document, findings: tuple[Finding, ...], context: RuleContext
    ) -> Iterable[Finding] | None:
        """The findings to report instead of ``findings`` (every other rule's, suppressions applied), or None to
        keep them. Only a rule that judges the file as a whole overrides this."""
        return None

    def finding(
        self,
        message: str,
        start: int,
        end: int,
        fix: Fix | None = None,
        savings: Savings | None = None,
    ) -> Finding:
        return Finding(self.code, self.name, message, start, end, fix, savings)

    def option(self, context: RuleContext, name: str) -> Any:
        """The configured value of one of this rule's options, or its default."""
        return context.options.get(name, self.option_defaults[name])

    @staticmethod
    def fix(
        title: str,
        edits: Iterable[Edit],
        applicability: Applicability = Applicability.SAFE,
        changes: ContentChange | None = None,
        files: Iterable[FileEdit] = (),
    ) -> Fix:
        return Fix(title, tuple(edits), applicability, changes, tuple(files))

    @classmethod
    def documentation(cls) -> str:
        import inspect  # 7 ms to import: only --explain and the documentation need it

        return inspect.cleandoc(cls.__doc__ or "")


_SUPPRESSION = LazyPattern(
    r"^\s*(?P<tool>dockerfix|hadolint)\s*:?\s*(?P<scope>global\s+)?ignore\b\s*(?:=\s*(?P<codes>[\w\s,]+))?",
    re.IGNORECASE,
)


class Suppressions(Struct, frozen=True):
    """``# dockerfix: ignore=CODES`` above an instruction, ``# dockerfix: global ignore=CODES`` for the file, and
    the same comments of hadolint, mapped through each rule's hadolint codes. No codes means every rule."""

    file_codes: frozenset[str] = frozenset()
    file_all: bool = False
    per_line: Mapping[int, frozenset[str] | None] = field(default_factory=dict)
    hadolint_map: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Document, hadolint_map: Mapping[str, frozenset[str]]) -> Suppressions:
        # Most files (all but 32 of the 1,519 real ones) say no `ignore` anywhere: their comments need no matching.
        # Lowered, whatever the pattern's case-insensitive `ignore` matches keeps `gnore` (`İgnore`, `ıgnore` too).
        if "gnore" not in document.text.lower():
            return cls(hadolint_map=hadolint_map)
        file_codes: set[str] = set()
        file_all = False
        per_line: dict[int, frozenset[str] | None] = {}
        for comment in document.comments():
            match = _SUPPRESSION.match(comment.text)
            if not match:
                continue
            codes = _codes(match.group("codes"), match.group("tool").lower(), hadolint_map)
            if match.group("scope"):
                if codes is None:
                    file_all = True
                else:
                    file_codes |= codes
            else:
                per_line[comment.line.number] = codes
        return cls(frozenset(file_codes), file_all, per_line, hadolint_map)

    @property
    def silences_anything(self) -> bool:
        return self.file_all or bool(self.file_codes) or bool(self.per_line)

    def suppresses(self, instruction: Instruction, code: str) -> bool:
        if self.file_all or code in self.file_codes:
            return True
        # most files silence no line: no generator to build for each instruction a rule asks about
        return bool(self.per_line) and any(
            self.suppresses_line(comment.line.number, code) for comment in instruction.leading_comments
        )

    def suppresses_line(self, number: int, code: str) -> bool:
        """Whether the comment on line ``number`` silences ``code`` (for findings on comments, not instructions)."""
        if number not in self.per_line:
            return False
        codes = self.per_line[number]
        return codes is None or code in codes


def _codes(text: str | None, tool: str, hadolint_map: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    if text is None:
        return None if tool == "dockerfix" else frozenset()
    names = {part.strip().upper() for part in re.split(r"[\s,]+", text) if part.strip()}
    if tool == "dockerfix":
        return frozenset(names)
    return frozenset(code for name in names for code in hadolint_map.get(name, ()))
