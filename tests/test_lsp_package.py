"""The language server as a package on pygls' public API (issue 22): no private name of pygls is used, the
handshake loads none of the analysis layer nor the other surfaces' libraries (they cost more than pygls itself), and
positions converted without pygls' codec where no counting is needed are the codec's."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pygls
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsp_wire import frame
from lsprotocol import types as lsp
from pygls.workspace import PositionCodec, TextDocument
from test_lsp import apply

import dockerfix
from dockerfix.lsp.analysis import Analysis
from dockerfix.lsp.positions import Positions
from dockerfix.rewriter.source import Source

SERVER_PACKAGE = Path(dockerfix.__file__).parent / "lsp"
NOT_FOR_THE_HANDSHAKE = {
    "dockerfix.cli",
    "dockerfix.baseline",
    "dockerfix.output",
    "dockerfix.rewriter.pipeline",
    "dockerfix.rewriter.engine",
    "dockerfix.rewriter.registry",
    "dockerfix.rewriter.document",
    "jinja2",
    "httpx",
    "rich",
}


def private_names(tree: ast.AST) -> set[str]:
    """Names with one leading underscore a module reads as attributes or imports."""
    found = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.update((node.module or "").split("."))
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("_") and not name.startswith("__")}


def names_pygls_defines() -> set[str]:
    """Every private name pygls' own source assigns, defines or reads as an attribute."""
    names: set[str] = set()
    for path in Path(pygls.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= private_names(tree)
        names |= {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        names |= {path.stem}
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def test_the_server_uses_no_private_name_of_pygls():
    sources = sorted(SERVER_PACKAGE.rglob("*.py"))
    used = {name: path.name for path in sources for name in private_names(ast.parse(path.read_text(encoding="utf-8")))}
    internals = sorted(set(used) & names_pygls_defines())
    assert not internals, f"pygls internals used: {[(name, used[name]) for name in internals]}"


@pytest.mark.parametrize(
    "command",
    [
        [str(Path(sys.executable).with_name("dockerfix")), "lsp"],  # as editors start it: the installed command
        [sys.executable, "-m", "dockerfix", "lsp"],
        [sys.executable, "-m", "dockerfix.lsp"],
    ],
    ids=["dockerfix lsp", "python -m dockerfix lsp", "python -m dockerfix.lsp"],
)
def test_the_handshake_loads_neither_the_analysis_layer_nor_other_surfaces_libraries(tmp_path: Path, command):
    importtime = tmp_path / "importtime"  # a file, not a pipe: the server must never block writing it
    server = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=importtime.open("wb"),
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}))
    server.stdin.flush()
    length = None
    while (line := server.stdout.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    assert length is not None, "no answer to initialize"
    answer = json.loads(server.stdout.read(length))
    assert "capabilities" in answer["result"]
    server.stdin.close()  # the input ends: the server exits without loading anything more
    server.wait(timeout=60)
    lines = importtime.read_text(encoding="utf-8").splitlines()
    loaded = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    assert "pygls.lsp.server" in loaded
    assert not loaded & NOT_FOR_THE_HANDSHAKE, sorted(loaded & NOT_FOR_THE_HANDSHAKE)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.text(alphabet=st.sampled_from("aZ \t\\é€😀\r\f\u2028"), max_size=12), min_size=1, max_size=4),
    line=st.integers(1, 6),
    column=st.integers(1, 16),
    encoding=st.sampled_from(list(lsp.PositionEncodingKind)),
)
def test_positions_agree_with_pygls_codec_in_every_encoding(lines, line, column, encoding):
    """The pipeline's (line, column) ends lines at LF only, LSP at CR, LF and CRLF: the position of the same offset
    must be the codec's on LSP's lines, and ASCII text, converted without counting code units, no exception."""
    text = "\n".join(lines)
    document = TextDocument("file:///Dockerfile", text, position_codec=PositionCodec(encoding))
    source = Source(text)
    offset = source.offset(line, column)
    if text[offset - 1 : offset + 1] == "\r\n":  # LSP has no position between CR and LF: the one before it
        offset -= 1
    lsp_lines = re.split("(?<=\r)(?!\n)|(?<=\n)", text)
    lsp_line = len(re.findall("\r\n|\r|\n", text[:offset]))
    column_offset = offset - sum(len(previous) for previous in lsp_lines[:lsp_line])
    expected = document.position_codec.position_to_client_units(
        lsp_lines, lsp.Position(line=lsp_line, character=column_offset)
    )
    assert Positions(document, Analysis(version=None, source=source)).position(line, column) == expected


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("ab é😀\r\n\f\u2028"), max_size=30),
    cut=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    new_text=st.text(alphabet=st.sampled_from("x\r\n"), max_size=3),
)
def test_a_text_edit_replaces_what_its_offsets_name(text: str, cut: tuple[float, float], new_text: str):
    """Applied by a client that counts lines as LSP does, an edit gives the text the offsets give, even one that
    starts or ends between the CR and the LF of a CRLF (no LSP position is there)."""
    start, end = sorted(int(fraction * len(text)) for fraction in cut)
    document = TextDocument("file:///Dockerfile", text)
    edit = Positions(document, Analysis(version=None, source=Source(text))).text_edit(start, end, new_text)
    identifier = lsp.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=None)
    applied = apply(text, lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(identifier, [edit])]))
    assert applied == text[:start] + new_text + text[end:]
