"""Hypothesis drives random edit sequences through one real client session (pytest-lsp's client over stdio): after
every sequence the server's pulled diagnostics and its fix-all must be what the CLI's pipeline computes for the same
text, and the server must still answer. `DOCKERFIX_LSP_EXAMPLES` raises the example count."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pytest_lsp.client import make_test_lsp_client
from test_lsp import apply, position, whole

from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.pipeline import run_source
from dockerfix.rewriter.source import Source, SourceError

FOLDER = Path(tempfile.mkdtemp(prefix="dockerfix-lsp-edits-"))
# a merge saves only a layer: the project asks for DF101 by its code, so every merge is reported (min-gain)
(FOLDER / ".dockerfix.toml").write_text('extend-select = ["DF101"]\n')
STARTS = (
    "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n",
    "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
    "RUN apt-get update && apt-get install -y curl\n",
    "# syntax=docker/dockerfile:1\nFROM alpine AS build\nRUN <<EOF\napk add gcc\nEOF\nFROM build\nRUN echo é\n",
)
PIECES = (
    "RUN ",
    "apt-get install -y x",
    " \\\n",
    "\n",
    "<<EOF",
    "EOF\n",
    "COPY . .\n",
    "é",
    "😀",
    "# c\n",
    "&& ",
    '"',
    "FROM a\n",
    "\t",
    "ONBUILD ",
    "RUN --mount=type=cache,target=/root/.cache pip install x\n",
    "\r\n",
    "ADD . /app\n",
)
EDITS = st.lists(st.tuples(st.floats(0, 1), st.integers(0, 8), st.sampled_from(PIECES)), min_size=1, max_size=20)


class Session:
    """A client session whose event loop runs in its own thread, so that each hypothesis example (a plain function)
    can drive it: notifications and requests are queued on that loop in the order they are made."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.client = self.run(self._start())

    async def _start(self):
        client = make_test_lsp_client()
        await client.start_io(sys.executable, "-m", "dockerfix", "lsp")
        capabilities = lsp.ClientCapabilities(
            text_document=lsp.TextDocumentClientCapabilities(diagnostic=lsp.DiagnosticClientCapabilities())
        )
        await client.initialize_session(
            lsp.InitializeParams(capabilities=capabilities, initialization_options={"unsafeFixes": True})
        )
        return client

    def run(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def notify(self, method, params) -> None:
        self.loop.call_soon_threadsafe(method, params)

    def close(self) -> None:
        self.run(self.client.shutdown_session())
        self.run(self.client.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def session():
    opened = Session()
    yield opened
    opened.close()


DOCUMENTS = itertools.count()


# derandomized: a random search found a disagreement on CR-only line ends after DF002 landed (issue 22's note; run
# with DOCKERFIX_LSP_RANDOM=1 to search afresh), and CI must not pass or fail by the draw
@settings(
    max_examples=int(os.environ.get("DOCKERFIX_LSP_EXAMPLES", "12")),
    deadline=None,
    derandomize=not os.environ.get("DOCKERFIX_LSP_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=st.sampled_from(STARTS), edits=EDITS)
def test_random_edit_sequences_match_the_pipeline(session: Session, start: str, edits: list[tuple[float, int, str]]):
    assert_served_as_the_pipeline_computes(session, start, edits)


def test_a_carriage_return_alone_ends_a_line_for_the_client(session: Session):
    """The search's find, as an editor can make it: a CR alone (the text `RUN ` typed between the CR and the LF of a
    CRLF made) is a line end for LSP and none for BuildKit; DF002 was served a line early and fix-all edited the wrong
    lines of the client's text."""
    start = "\nyntax=dock\rRUN \ner/dockerfile:1\n" + STARTS[2].split("\n", 1)[1]
    assert_served_as_the_pipeline_computes(session, start, [(0.5, 0, "# c\n")])


@pytest.mark.parametrize("separator", ["\f", "\v", "\x1c", "\x85", "\u2028", "\u2029"])
def test_only_cr_and_lf_end_lines_when_the_client_edits(session: Session, separator: str):
    """Python's `splitlines` also breaks at these; LSP and editors do not: an edit on a later line must land there."""
    start = f"FROM debian:bookworm\n# a{separator}b\nRUN mkdir -p /app\nRUN chmod 755 /app\n"
    edits = [((start.index("RUN chmod") + 0.5) / len(start), 3, "RUN"), (0.75, 0, "x")]
    assert_served_as_the_pipeline_computes(session, start, edits)


@pytest.mark.parametrize("line_end", ["", "\n", "\r\n"])
def test_a_character_past_the_end_of_a_line_is_its_end(session: Session, line_end: str):
    """LSP: past a line's length, a position "defaults back to the line length"; pygls took the character before the
    end of a last line without a line end, and the change landed one character early."""
    start = f"FROM debian:bookworm\nRUN mkdir -p /app{line_end}"
    past_the_end = lsp.Position(line=1, character=100)
    insert = "\nRUN chmod 755 /app\n"
    change = lsp.TextDocumentContentChangePartial(range=lsp.Range(start=past_the_end, end=past_the_end), text=insert)
    assert_changes_served(session, start, [change], start.removesuffix(line_end) + insert + line_end)


def assert_served_as_the_pipeline_computes(session: Session, start: str, edits: list[tuple[float, int, str]]) -> None:
    """Open ``start``, apply ``edits`` (where as a fraction of the text, how many characters to replace, by what) as
    incremental changes, then compare the pulled diagnostics and fix-all with the pipeline's on the client's text."""
    text, changes = start, []
    for where, length, insert in edits:
        begin = outside_crlf(text, int(where * len(text)))
        end = outside_crlf(text, min(len(text), begin + length))
        changes.append(
            lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=position(text, begin), end=position(text, end)), text=insert
            )
        )
        text = text[:begin] + insert + text[end:]
    assert_changes_served(session, start, changes, text)


def outside_crlf(text: str, offset: int) -> int:
    """An editor has no position between the CR and the LF of a CRLF (LSP names none): the one before it."""
    return offset - 1 if text[offset - 1 : offset + 1] == "\r\n" and offset > 0 else offset


def assert_changes_served(
    session: Session, start: str, changes: list[lsp.TextDocumentContentChangePartial], text: str
) -> None:
    """Open ``start`` and send ``changes``, one version each, after which the client holds ``text``; compare the
    pulled diagnostics and fix-all with the pipeline's on ``text``."""
    uri = (FOLDER / f"Dockerfile.{next(DOCUMENTS)}").as_uri()
    client = session.client
    session.notify(
        client.text_document_did_open,
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=1, text=start)
        ),
    )
    for version, change in enumerate(changes, start=2):
        session.notify(
            client.text_document_did_change,
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=[change]
            ),
        )
    document = lsp.TextDocumentIdentifier(uri=uri)
    report = session.run(client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(text_document=document)))
    fix_all = session.run(
        client.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=document,
                range=whole(text),
                context=lsp.CodeActionContext(diagnostics=[], only=["source.fixAll.dockerfix"]),
            )
        )
    )
    session.notify(client.text_document_did_close, lsp.DidCloseTextDocumentParams(text_document=document))

    path = FOLDER / uri.rsplit("/", 1)[1]
    source = Source(text, str(path))
    try:
        expected = run_source(
            source, Settings(unsafe_fixes=True, extend_select=("DF101",)), BuildContext.from_directory(FOLDER), path
        )
    except SourceError:
        assert len(report.items) == 1 and report.items[0].severity == lsp.DiagnosticSeverity.Error
        assert not fix_all
        return
    served = sorted((item.code, item.range.start.line, item.range.start.character) for item in report.items)
    # the pipeline numbers lines as BuildKit does (LF ends them); the client as LSP does (CR, LF and CRLF)
    # the pipeline numbers lines as BuildKit does (LF ends them), the client as LSP does (CR, LF and CRLF)
    found = []
    for finding in expected.findings:
        begins = position(text, source.offset(finding.range.start.line, finding.range.start.column))
        found.append((finding.code, begins.line, begins.character))
    assert served == sorted(found)
    fixed = apply(text, fix_all[0].edit) if fix_all else text
    assert fixed == expected.new_text
