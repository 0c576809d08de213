"""LSP latency through a real client session: initialize, pull-diagnostics and code-action round trips on a
~300-line Dockerfile assembled from real corpus content. Prints a table (median and p95, milliseconds)."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from pytest_lsp.client import make_test_lsp_client

from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import run_source
from dockerfix.rewriter.source import Source

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real"
ROUNDS = 60


def dockerfile_of_300_lines() -> str:
    lines = ["FROM debian:bookworm"]
    for path in sorted(CORPUS.glob("*.Dockerfile")):
        body = path.read_text(encoding="utf-8", errors="replace").splitlines()
        lines += [line for line in body if not line.upper().startswith(("FROM", "# SYNTAX", "# ESCAPE"))]
        if len(lines) >= 300:
            break
    return "\n".join(lines[:300]) + "\n"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def computation_ms(text: str) -> list[float]:
    """What the server does per diagnostics request, without the transport: parse and every rule, no fix loop."""
    timings = []
    for round_number in range(ROUNDS):
        edited = text if round_number % 2 else "# edit\n" + text
        began = time.perf_counter()
        run_source(Source(edited, "Dockerfile"), Settings(), None, apply_fixes=False)
        timings.append((time.perf_counter() - began) * 1000)
    return timings


async def main() -> int:
    text = dockerfile_of_300_lines()
    computed_ms = computation_ms(text)
    uri = (Path(tempfile.mkdtemp()) / "Dockerfile").as_uri()
    client: LanguageClient = make_test_lsp_client()
    start = time.perf_counter()
    await client.start_io(sys.executable, "-m", "dockerfix", "lsp")
    capabilities = lsp.ClientCapabilities(text_document=lsp.TextDocumentClientCapabilities(diagnostic=lsp.DiagnosticClientCapabilities()))
    await client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    initialize_ms = (time.perf_counter() - start) * 1000
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=1, text=text)))
    diagnostics_ms, actions_ms, fix_all_ms = [], [], []
    count = 0
    for version in range(2, ROUNDS + 2):
        # a real edit each round, so no answer comes from the server's cache
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
                text="" if version % 2 else "# edit\n")],
        ))
        began = time.perf_counter()
        report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
        diagnostics_ms.append((time.perf_counter() - began) * 1000)
        count = len(report.items)
        for only, timings in ((["quickfix"], actions_ms), (["source.fixAll.dockerfix"], fix_all_ms)):
            began = time.perf_counter()
            await client.text_document_code_action_async(lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri),
                range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=300, character=0)),
                context=lsp.CodeActionContext(diagnostics=[], only=only)))
            timings.append((time.perf_counter() - began) * 1000)
    await client.shutdown_session()
    await client.stop()
    print(f"300-line Dockerfile from the corpus, {count} diagnostics, {ROUNDS} rounds\n")
    print("| measure | median ms | p95 ms |")
    print("|---|---|---|")
    print(f"| initialize (start + handshake) | {initialize_ms:.0f} | - |")
    print(f"| diagnostics computation (in process) | {statistics.median(computed_ms):.1f} | {percentile(computed_ms, 0.95):.1f} |")
    print(f"| diagnostics after an edit (pull round trip) | {statistics.median(diagnostics_ms):.1f} | {percentile(diagnostics_ms, 0.95):.1f} |")
    print(f"| quick fixes for the whole file (round trip) | {statistics.median(actions_ms):.1f} | {percentile(actions_ms, 0.95):.1f} |")
    print(f"| fix-all, fix loop included (round trip) | {statistics.median(fix_all_ms):.1f} | {percentile(fix_all_ms, 0.95):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
