"""LSP latency through a real client session: start-up to the answer to `initialize`, paired in one run against the
floor (`python -c "import pygls.lsp.server, lsprotocol.types"`, what any pygls server imports before it can answer);
pull-diagnostics and code-action round trips on a ~300-line Dockerfile assembled from real corpus content; then the
same server under a big document: how long a hover on a small document waits while the big one is analysed, and how
long the big one's diagnostics take (analysed, or refused above `maxDocumentSize`). Prints tables (median and p95,
milliseconds). Targets (issue 22): initialize within 1.15x of the floor; diagnostics and code actions p95 <= 20 ms.

`python bench/lsp_latency.py [--sizes 65536,262144,2097152] [--limit BYTES] [--starts N]`: `--limit` is the
`maxDocumentSize` the client sends (default: the server's own)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from pytest_lsp.client import make_test_lsp_client
from startup import bytecode_cached_environment

from dockerfix.lsp.analysis import INDEX_MESSAGE
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import run_source
from dockerfix.rewriter.source import Source

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real"
ROUNDS = 60
BIG_ROUNDS = 3
# a monorepo-like build context: its files in folders of 100, and the Dockerfiles opened in it one after another
CONTEXT_FILES = 20_000
CONTEXT_DOCKERFILES = 5
PYTHON_APP = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
FLOOR = (sys.executable, "-c", "import pygls.lsp.server, lsprotocol.types")
# as users start it (the installed command, and through the package's __main__), and the server package alone
SERVER_COMMANDS = {
    "dockerfix lsp": (str(Path(sys.executable).with_name("dockerfix")), "lsp"),
    "python -m dockerfix lsp": (sys.executable, "-m", "dockerfix", "lsp"),
    "python -m dockerfix.lsp": (sys.executable, "-m", "dockerfix.lsp"),
}
# every process runs from bytecode compiled once, as an installed package does (see bench/startup.py)
ENVIRONMENT = bytecode_cached_environment(Path(tempfile.mkdtemp(prefix="dockerfix-bytecode-")))


def dockerfile_of_size(size: int) -> str:
    """Corpus content repeated to about ``size`` bytes, one stage."""
    block = dockerfile_of_300_lines()
    head, body = block.split("\n", 1)
    return head + "\n" + body * max(1, size // len(body))


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


async def server_work_ms(text: str) -> tuple[list[float], list[float]]:
    """What the server's handlers add to the analysis, without the transport: a pull and the quick fixes for the whole
    file, the analysis cached (the first pull computes it)."""
    from dockerfix.lsp.handlers import code_action, pull, server

    server.protocol.handle_message(
        server.protocol.structure_message(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"capabilities": {"textDocument": {"diagnostic": {}}}},
            }
        )
    )
    server.configure({})
    uri = (Path(tempfile.mkdtemp()) / "Dockerfile").as_uri()
    server.workspace.put_text_document(lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=1, text=text))
    document = lsp.TextDocumentIdentifier(uri=uri)
    whole = lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=300, character=0))
    await pull(server, lsp.DocumentDiagnosticParams(text_document=document))
    pulls, actions = [], []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        await pull(server, lsp.DocumentDiagnosticParams(text_document=document))
        pulls.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        await code_action(
            server,
            lsp.CodeActionParams(
                text_document=document, range=whole, context=lsp.CodeActionContext(diagnostics=[], only=["quickfix"])
            ),
        )
        actions.append((time.perf_counter() - began) * 1000)
    return pulls, actions


async def started_client(
    options: dict | None = None,
    command: tuple[str, ...] = SERVER_COMMANDS["dockerfix lsp"],
    watched_workspace: Path | None = None,
) -> LanguageClient:
    """A pull client; with ``watched_workspace``, one whose workspace that folder is and that accepts the server's
    file watcher (as VS Code does)."""
    client: LanguageClient = make_test_lsp_client()
    await client.start_io(*command, env=ENVIRONMENT)
    capabilities = lsp.ClientCapabilities(
        text_document=lsp.TextDocumentClientCapabilities(diagnostic=lsp.DiagnosticClientCapabilities())
    )
    folders = None
    if watched_workspace is not None:
        client.feature(lsp.CLIENT_REGISTER_CAPABILITY)(lambda params: None)
        capabilities.workspace = lsp.WorkspaceClientCapabilities(
            did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
        )
        folders = [lsp.WorkspaceFolder(uri=watched_workspace.as_uri(), name=watched_workspace.name)]
    await client.initialize_session(
        lsp.InitializeParams(capabilities=capabilities, initialization_options=options, workspace_folders=folders)
    )
    return client


def edit_first_line(client: LanguageClient, uri: str, version: int) -> None:
    """A real edit (a comment line put in or taken out), so no answer comes from the server's cache."""
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                lsp.TextDocumentContentChangePartial(
                    range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0)),
                    text="" if version % 2 else "# edit\n",
                )
            ],
        )
    )


def open_document(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=1, text=text)
        )
    )


def diagnostics_of(report: lsp.DocumentDiagnosticReport) -> Sequence[lsp.Diagnostic]:
    """A pulled report's diagnostics: this client sends no previous result id, so the report is a full one."""
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport), report
    return report.items


async def under_a_big_document(size: int, limit: int | None) -> tuple[list[float], list[float], int]:
    """Each round edits the big document, pulls its diagnostics without waiting, then times a hover on a small
    document; returns the hover and the big pull round trips and the big document's diagnostic count."""
    folder = Path(tempfile.mkdtemp())
    small, big = (folder / "Dockerfile").as_uri(), (folder / "big.Dockerfile").as_uri()
    client = await started_client({"maxDocumentSize": limit} if limit else None)
    open_document(client, small, dockerfile_of_300_lines())
    open_document(client, big, dockerfile_of_size(size))
    hover = lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=small), position=lsp.Position(line=1, character=1)
    )
    await client.text_document_hover_async(hover)
    hover_ms, big_ms, count = [], [], 0
    for version in range(2, BIG_ROUNDS + 2):
        edit_first_line(client, big, version)
        began = time.perf_counter()
        pulled = asyncio.ensure_future(
            client.text_document_diagnostic_async(
                lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=big))
            )
        )
        await asyncio.sleep(0.05)
        hover_began = time.perf_counter()
        await client.text_document_hover_async(hover)
        hover_ms.append((time.perf_counter() - hover_began) * 1000)
        count = len(diagnostics_of(await pulled))
        big_ms.append((time.perf_counter() - began) * 1000)
    await client.shutdown_session()
    await client.stop()
    return hover_ms, big_ms, count


async def big_documents(sizes: list[int], limit: int | None) -> None:
    print(
        f"\nA hover on a small document while a big one is analysed ({BIG_ROUNDS} rounds, maxDocumentSize: "
        f"{limit or 'server default'})\n"
    )
    print("| big document | its diagnostics | hover on the small one, median ms | max ms | big pull, median ms |")
    print("|---|---|---|---|---|")
    for size in sizes:
        hover_ms, big_ms, count = await under_a_big_document(size, limit)
        print(
            f"| {size // 1024} KiB | {count} | {statistics.median(hover_ms):.0f} | {max(hover_ms):.0f} | "
            f"{statistics.median(big_ms):.0f} |"
        )


async def floor_ms() -> float:
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*FLOOR, env=ENVIRONMENT)
    await process.wait()
    return (time.perf_counter() - began) * 1000


async def initialize_ms(command: tuple[str, ...]) -> float:
    """From starting the server to its answer to `initialize`."""
    began = time.perf_counter()
    client = await started_client(command=command)
    elapsed = (time.perf_counter() - began) * 1000
    await client.shutdown_session()
    await client.stop()
    return elapsed


async def start_up(starts: int) -> None:
    """The floor and each way to start the server, taken in turn so that the shared machine's load falls on all."""
    timings: dict[str, list[float]] = {"floor": [], **{name: [] for name in SERVER_COMMANDS}}
    await floor_ms()  # the first start of each writes its bytecode
    for command in SERVER_COMMANDS.values():
        await initialize_ms(command)
    for _ in range(starts):
        timings["floor"].append(await floor_ms())
        for name, command in SERVER_COMMANDS.items():
            timings[name].append(await initialize_ms(command))
    floor = timings["floor"]
    print(f"Start-up, {starts} starts of each, taken in turn (the minimum is the least disturbed by other load)\n")
    print("| process | median ms | min ms | median / floor's median | min / floor's min (target <= 1.15) |")
    print("|---|---|---|---|---|")
    for name, values in timings.items():
        label = f"floor: {FLOOR[-1]}" if name == "floor" else f"`{name}` until it answers initialize"
        print(
            f"| {label} | {statistics.median(values):.0f} | {min(values):.0f} | "
            f"{statistics.median(values) / statistics.median(floor):.2f} | {min(values) / min(floor):.2f} |"
        )
    print()


async def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--sizes", default="65536,262144,2097152", help="big document sizes in bytes (none: skip)")
    arguments.add_argument("--limit", type=int, default=None, help="maxDocumentSize sent by the client")
    arguments.add_argument(
        "--starts", type=int, default=10, help="server starts (and floor runs) for the start-up table"
    )
    options = arguments.parse_args()
    await start_up(options.starts)
    await small_document()
    await one_context()
    sizes = [int(size) for size in options.sizes.split(",") if size]
    if sizes:
        await big_documents(sizes, options.limit)
    return 0


async def small_document() -> None:
    text = dockerfile_of_300_lines()
    computed_ms = computation_ms(text)
    handler_pull_ms, handler_actions_ms = await server_work_ms(text)
    uri = (Path(tempfile.mkdtemp()) / "Dockerfile").as_uri()
    client = await started_client()
    open_document(client, uri, text)
    began = time.perf_counter()  # the analysis layer loads after the handshake: the first pull waits for it
    await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    first_ms = (time.perf_counter() - began) * 1000
    diagnostics_ms: list[float] = []
    actions_ms: list[float] = []
    fix_all_ms: list[float] = []
    count = 0
    for version in range(2, ROUNDS + 2):
        edit_first_line(client, uri, version)
        began = time.perf_counter()
        report = await client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
        )
        diagnostics_ms.append((time.perf_counter() - began) * 1000)
        count = len(diagnostics_of(report))
        for only, timings in ((["quickfix"], actions_ms), (["source.fixAll.dockerfix"], fix_all_ms)):
            began = time.perf_counter()
            await client.text_document_code_action_async(
                lsp.CodeActionParams(
                    text_document=lsp.TextDocumentIdentifier(uri=uri),
                    range=lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=300, character=0)),
                    context=lsp.CodeActionContext(diagnostics=[], only=only),
                )
            )
            timings.append((time.perf_counter() - began) * 1000)
    await client.shutdown_session()
    await client.stop()
    print(f"300-line Dockerfile from the corpus, {count} diagnostics, {ROUNDS} rounds\n")
    print("| measure | median ms | p95 ms |")
    print("|---|---|---|")
    print(f"| first diagnostics after the handshake | {first_ms:.0f} | - |")
    for measure, values in (
        ("diagnostics computation (in process)", computed_ms),
        ("diagnostics, the server's own work (in process, analysis cached)", handler_pull_ms),
        ("quick fixes, the server's own work (in process, analysis cached)", handler_actions_ms),
        ("diagnostics after an edit (pull round trip)", diagnostics_ms),
        ("quick fixes for the whole file (round trip)", actions_ms),
        ("fix-all, fix loop included (round trip)", fix_all_ms),
    ):
        print(f"| {measure} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} |")


async def pull_ms(client: LanguageClient, uri: str) -> float:
    began = time.perf_counter()
    await client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri))
    )
    return (time.perf_counter() - began) * 1000


async def one_context() -> None:
    """Dockerfiles of one big build context, through a client that watches the workspace: the first diagnostics of
    each as it is opened, then edits of one that has an ignore file of its own (a context of its own), and how many
    indexes of the contexts the server made (it logs each)."""
    folder = Path(tempfile.mkdtemp())
    for number in range(CONTEXT_FILES):
        source = folder / f"src/package{number // 100}/module{number}.py"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("print()\n")
    (folder / "requirements.txt").write_text("flask\n")
    (folder / ".dockerignore").write_text("**/__pycache__\n*.pyc\n")
    (folder / "own.Dockerfile.dockerignore").write_text("src/package1*\n")
    client = await started_client({"unsafeFixes": True}, watched_workspace=folder)
    opened_ms = []
    for name in [f"service{number}.Dockerfile" for number in range(CONTEXT_DOCKERFILES)] + ["own.Dockerfile"]:
        (folder / name).write_text(PYTHON_APP)
        uri = (folder / name).as_uri()
        open_document(client, uri, PYTHON_APP)
        opened_ms.append(await pull_ms(client, uri))
    edited_ms = []
    for version in range(2, ROUNDS + 2):
        edit_first_line(client, uri, version)
        edited_ms.append(await pull_ms(client, uri))
    indexes = sum(1 for message in client.log_messages if INDEX_MESSAGE in message.message)
    await client.shutdown_session()
    await client.stop()
    print(
        f"\n{CONTEXT_DOCKERFILES + 1} Dockerfiles opened in turn in one build context of {CONTEXT_FILES:,} files "
        f"(the last with an ignore file of its own), then {ROUNDS} edits of the last; {indexes} indexes made\n"
    )
    print("| measure | median ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for label, values in (
        ("diagnostics of a Dockerfile just opened (pull round trip)", opened_ms),
        ("diagnostics after an edit, own ignore file (pull round trip)", edited_ms),
    ):
        print(f"| {label} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} | {max(values):.1f} |")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
