"""The language server never goes deaf (issue 15, items 10, 22, 23): malformed frames, hostile positions, big
documents, documents that are no file and hostile settings, each driven over stdio by a raw client that writes exactly
the bytes given (tests/lsp_wire.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lsp_wire import WireClient, frame, framed

from dockerfix.lsp.framing import FRAME_START, FrameReader

FOLDER = Path(tempfile.mkdtemp(prefix="dockerfix-lsp-robustness-"))
# a merge saves only a layer: the project asks for DF101 by its code, so every merge is reported (min-gain)
(FOLDER / ".dockerfix.toml").write_text('extend-select = ["DF101"]\n')
URI = (FOLDER / "Dockerfile").as_uri()
MERGEABLE = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
ON_THE_FIRST_RUN = {"line": 1, "character": 2}
INVALID_PARAMS = -32602
PARSE_ERROR = -32700
CONTENT_MODIFIED = -32801
UINTEGER_MAX = 2**31 - 1
# analysed in about a second (docs/decisions.md, section 16): long enough for the server to read what comes after
BIG = "FROM debian:bookworm\n" + "RUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n" * 1000


@pytest.fixture(scope="module")
def session():
    """One server for the tests below: it must survive all of them."""
    opened = WireClient()
    opened.initialize()
    opened.open(URI, MERGEABLE)
    yield opened
    opened.close()


@pytest.fixture
def client(session: WireClient):
    session.forget()
    return session


def hover_message(client: WireClient, position=ON_THE_FIRST_RUN) -> dict:
    return client.request_message("textDocument/hover", {"textDocument": {"uri": URI}, "position": position})


def assert_hover_answered(client: WireClient) -> None:
    response = client.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": ON_THE_FIRST_RUN})
    assert "DF101" in response["result"]["contents"]["value"]


def body_of(message: dict) -> bytes:
    return json.dumps(message).encode()


# Frames the specification allows, or that a robust reader accepts: the request in them is answered.
ACCEPTED = {
    "header name in lower case (HTTP header names are case-insensitive)": lambda body: (
        b"content-length: %d\r\n\r\n" % len(body) + body
    ),
    "header name in upper case, blanks around the value": lambda body: (
        b"CONTENT-LENGTH:  %d \r\n\r\n" % len(body) + body
    ),
    "lines ended by LF alone": lambda body: b"Content-Length: %d\n\n" % len(body) + body,
    "a Content-Type header first": lambda body: (
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    ),
}

# Frames nobody can read: each costs itself only, the next request is answered.
DROPPED = {
    "Content-Length that is no number": lambda body: b"Content-Length: abc\r\n\r\n" + body,
    "no header at all": lambda body: body,
    "an empty header block": lambda body: b"\r\n" + body,
    "a negative Content-Length": lambda body: b"Content-Length: -5\r\n\r\n" + body,
    "a Content-Length of 5,000 digits": lambda body: b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n" + body,
    "binary noise": lambda body: bytes(range(256)) * 4,
    "a header line without end": lambda body: b"X-Header: " + b"a" * 20000,
}


@pytest.mark.parametrize("framing", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_forgivable_frames_are_read(client: WireClient, framing):
    message = hover_message(client)
    client.write(framing(body_of(message)))
    assert "DF101" in client.response_to(message["id"])["result"]["contents"]["value"]


@pytest.mark.parametrize("framing", DROPPED.values(), ids=DROPPED.keys())
def test_a_malformed_frame_costs_itself_only(client: WireClient, framing):
    client.write(framing(body_of(hover_message(client))))
    assert_hover_answered(client)
    logged = client.notification("window/logMessage")
    assert "no LSP frame" in logged["params"]["message"]


MESSAGES = st.lists(
    st.fixed_dictionaries(
        {
            "jsonrpc": st.just("2.0"),
            "method": st.text(max_size=20),
            "params": st.dictionaries(st.text(max_size=5), st.text(max_size=30), max_size=3),
        }
    ),
    min_size=1,
    max_size=4,
)
NOISE = st.binary(max_size=200) | st.sampled_from(
    [
        b"\r\n",
        b"X-Header: 1\r\n",
        b"Content-Length: ",
        b"content-length:1",
        b"Content-Length: 12",
        b"\r\n\r\n{}",
        b"Content-Type: x\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    messages=MESSAGES, noise=st.lists(NOISE, min_size=1, max_size=3), cuts=st.lists(st.integers(0, 2000), max_size=6)
)
def test_the_frame_reader_finds_every_frame_after_noise(messages: list[dict], noise: list[bytes], cuts: list[int]):
    """Noise (that holds no whole `Content-Length: N` line) before the frames, the stream cut into chunks anywhere:
    every frame after the noise is read whole."""
    noise_bytes = b"".join(noise)
    assume(FRAME_START.search(noise_bytes) is None)
    stream = noise_bytes + b"".join(frame(message) for message in messages)
    reported: list[str] = []

    async def read() -> list[bytes]:
        chunks: asyncio.Queue[bytes] = asyncio.Queue()
        for start, end in itertools.pairwise([0, *sorted(cut % (len(stream) + 1) for cut in cuts), len(stream)]):
            if end > start:  # an empty chunk is the end of the input
                chunks.put_nowait(stream[start:end])
        chunks.put_nowait(b"")
        reader = FrameReader(chunks, reported.append)
        bodies = []
        while (body := await reader.body()) is not None:
            bodies.append(body)
        return bodies

    decoded = []
    for body in asyncio.run(read()):
        try:
            decoded.append(json.loads(body))
        except ValueError:
            pass
    assert decoded == messages


def test_a_short_content_length_is_a_parse_error_then_the_server_reads_on(client: WireClient):
    body = body_of(hover_message(client))
    client.write(b"Content-Length: %d\r\n\r\n" % (len(body) - 5) + body)
    error = client.next_message(lambda message: "error" in message)
    assert error["id"] is None and error["error"]["code"] == PARSE_ERROR
    assert_hover_answered(client)


def test_a_long_content_length_swallows_the_next_request_which_is_still_answered(client: WireClient):
    """The body stops arriving before its announced length: once it stalls, the frame inside it is read."""
    body = body_of(
        client.request_message("textDocument/hover", {"textDocument": {"uri": URI}, "position": ON_THE_FIRST_RUN})
    )
    client.write(b"Content-Length: %d\r\n\r\n" % (len(body) + 500) + body)
    assert_hover_answered(client)


def test_end_of_input_ends_the_server():
    client = WireClient()
    client.initialize()
    client.stdin.close()
    assert client.process.wait(timeout=20) in (0, 1)  # no hanging on a client that is gone
    client.close()


def test_a_json_body_that_is_no_message_is_an_invalid_request(client: WireClient):
    client.write(frame([1, 2, 3]))  # batches are not LSP
    client.write(frame({"id": 7, "method": "textDocument/hover"}))  # no "jsonrpc"
    errors = [client.next_message(lambda message: "error" in message) for _ in range(2)]
    assert [(e["id"], e["error"]["code"]) for e in errors] == [(None, -32600), (7, -32600)]
    assert_hover_answered(client)


@pytest.mark.parametrize(
    "params", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000], ids=["array", "object"]
)
def test_deeply_nested_json_is_answered(client: WireClient, params: str):
    """Python's JSON decoder gives up on deep nesting with RecursionError, which must not end the reader."""
    client.write(
        framed(b'{"jsonrpc": "2.0", "id": 99, "method": "textDocument/hover", "params": ' + params.encode() + b"}")
    )
    error = client.next_message(lambda message: "error" in message)
    assert error["error"]["code"] in (PARSE_ERROR, INVALID_PARAMS)
    assert_hover_answered(client)


# ---- positions (item 23): every request is answered: InvalidParams outside LSP's uinteger, a result inside it


POSITIONS = st.fixed_dictionaries(
    {"line": st.integers(-(2**40), 2**40), "character": st.integers(-(2**40), 2**40)}
) | st.fixed_dictionaries({"line": st.sampled_from(["one", None, [1], {"line": 1}]), "character": st.integers(0, 3)})


def in_range(position: dict) -> bool:
    return all(type(value) is int and 0 <= value <= UINTEGER_MAX for value in position.values())


@settings(max_examples=40, deadline=None)
@given(start=POSITIONS, end=POSITIONS)
def test_every_position_request_is_answered(session: WireClient, start: dict, end: dict):
    hover = session.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": start})
    actions = session.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": URI}, "range": {"start": start, "end": end}, "context": {"diagnostics": []}},
    )
    if in_range(start):
        assert "result" in hover
    else:
        assert hover["error"]["code"] == INVALID_PARAMS and "position" in hover["error"]["message"]
    if in_range(start) and in_range(end):
        assert isinstance(actions["result"], list)
    else:
        assert actions["error"]["code"] == INVALID_PARAMS


def test_positions_past_the_end_are_answered_like_the_end(client: WireClient):
    """LSP: a character past the line's end means the line's end; a line past the last means the end too."""
    far = {"line": 10**6, "character": 10**9}
    response = client.request(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": URI},
            "range": {"start": {"line": 0, "character": 0}, "end": far},
            "context": {"diagnostics": []},
        },
    )
    assert any(action["title"].startswith("DF101:") for action in response["result"])
    assert client.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": far})["result"] is None


def test_a_change_with_hostile_positions_is_refused_and_the_document_kept(client: WireClient):
    client.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": URI, "version": 2},
            "contentChanges": [
                {"range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": -4}}, "text": "x"}
            ],
        },
    )
    assert "didChange" in client.notification("window/logMessage")["params"]["message"]
    assert_hover_answered(client)


# ---- documents the server must not read or must not analyse (item 10 and hostile input)


def test_a_document_that_is_not_open_is_never_read_from_disk(client: WireClient, tmp_path: Path):
    """pygls reads an unknown URI from disk: a FIFO named Dockerfile blocked the protocol loop for good."""
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)
    response = client.request(
        "textDocument/hover", {"textDocument": {"uri": fifo.as_uri()}, "position": {"line": 0, "character": 0}}
    )
    assert response["result"] is None
    assert_hover_answered(client)


def test_a_document_that_is_no_file_has_no_build_context_nor_configuration(tmp_path: Path):
    """An `untitled:` document's path is relative: the server's working directory must not become its folder."""
    (tmp_path / ".dockerfix.toml").write_text('ignore = ["DF101"]\n')
    client = WireClient(cwd=tmp_path)
    client.initialize(options={"select": ["DF101"]})  # a layer-only merge is reported when named by its code
    for uri in ("untitled:Untitled-1", "file:///tmp/nul%00/Dockerfile"):
        client.open(uri, MERGEABLE)
        assert "DF101" in {d.get("code") for d in published(client, uri)}
    client.close()


def published(client: WireClient, uri: str) -> list[dict]:
    return client.next_message(
        lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
    )["params"]["diagnostics"]


def test_a_document_above_max_document_size_gets_one_diagnostic_saying_so():
    client = WireClient()
    client.initialize(options={"maxDocumentSize": 100})
    client.open(URI, MERGEABLE * 3)
    (diagnostic,) = published(client, URI)
    assert "maxDocumentSize (100)" in diagnostic["message"] and f"{len(MERGEABLE) * 3:,} bytes" in diagnostic["message"]
    assert (
        client.request("textDocument/hover", {"textDocument": {"uri": URI}, "position": ON_THE_FIRST_RUN})["result"]
        is None
    )
    client.notify("workspace/didChangeConfiguration", {"settings": {"dockerfix": {"maxDocumentSize": 10**6}}})
    assert {d.get("code") for d in published(client, URI)} == {"DF101"}
    client.close()


def test_two_megabytes_are_refused_by_default_and_the_server_answers_at_once(client: WireClient):
    big = (FOLDER / "big.Dockerfile").as_uri()
    client.open(big, "FROM debian:bookworm\n" + "RUN echo one && echo two\n" * (2 * 1024 * 1024 // 25))
    (diagnostic,) = published(client, big)
    assert "maxDocumentSize" in diagnostic["message"]
    assert_hover_answered(client)


def test_requests_are_answered_while_a_big_document_is_analysed():
    """The analysis runs off the protocol loop: a hover on another document is answered before the big document's
    diagnostics are published."""
    client = WireClient()
    client.initialize(options={"maxDocumentSize": 10**7})
    client.open(URI, MERGEABLE)
    published(client, URI)
    big = (FOLDER / "big.Dockerfile").as_uri()
    client.open(big, BIG)
    hover = hover_message(client)
    client.send(hover)
    first = client.next_message(
        lambda m: (
            m.get("id") == hover["id"]
            or (m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == big)
        )
    )
    assert first.get("id") == hover["id"] and "DF101" in first["result"]["contents"]["value"]
    assert published(client, big)
    client.close()


def test_shutdown_and_exit_do_not_wait_for_a_running_analysis():
    """A document analysed for minutes (20,000 RUNs) must not hold the editor's shutdown."""
    client = WireClient()
    client.initialize(options={"maxDocumentSize": 10**8})
    client.open(URI, "FROM debian:bookworm\n" + "RUN a\nRUN b\n" * 10_000)
    assert client.request("shutdown", None)["result"] is None
    client.notify("exit", None)
    assert client.process.wait(timeout=20) == 0
    client.close()


def test_an_analysis_a_newer_edit_made_moot_is_not_run():
    """While the worker analyses a big document, another document changes twice with a pull after each change: the
    first pull's text is gone before its analysis could start, so it is ContentModified (LSP) and never analysed."""
    client = WireClient()
    client.initialize({"textDocument": {"diagnostic": {}}}, options={"maxDocumentSize": 10**7})
    big = (FOLDER / "big.Dockerfile").as_uri()
    client.open(big, BIG)
    client.open(URI, MERGEABLE)
    pulls = [
        client.request_message("textDocument/diagnostic", {"textDocument": {"uri": uri}}) for uri in (big, URI, URI)
    ]
    changes = [
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": [{"text": MERGEABLE + f"RUN echo {version}\n"}],
            },
        }
        for version in (2, 3)
    ]
    client.write(b"".join(frame(message) for message in (pulls[0], changes[0], pulls[1], changes[1], pulls[2])))
    big_pull, moot, newest = (client.response_to(pull["id"], timeout=60) for pull in pulls)
    assert {item.get("code") for item in big_pull["result"]["items"]} >= {"DF101"}
    assert moot["error"]["code"] == CONTENT_MODIFIED
    assert {item.get("code") for item in newest["result"]["items"]} >= {"DF101"}
    client.close()


# ---- hostile settings (a failing rule's diagnostic is tests/test_rule_failures.py's)


@pytest.mark.parametrize(
    "options",
    [
        {"maxDocumentSize": "big"},
        {"maxDocumentSize": -1},
        {"dockerfix": 5},
        {"select": 5},
        "not an object",
    ],
    ids=["size-string", "size-negative", "section-number", "select-number", "options-string"],
)
def test_hostile_settings_are_logged_and_the_server_serves(options):
    client = WireClient()
    client.initialize(options=options)
    client.open(URI, MERGEABLE)
    logged = client.notification("window/logMessage")["params"]["message"]
    assert "dockerfix" in logged
    assert_hover_answered(client)
    client.close()


# ---- text no file can hold, and the end of a session (issue 19, item 11)


LONE_SURROGATE = "FROM debian:bookworm\nRUN echo \ud800\n"  # JSON carries it as "\ud800": valid JSON, no character


def test_a_lone_surrogate_is_one_error_where_it_stands_and_every_request_is_answered():
    client = WireClient()
    client.initialize()
    uri = (FOLDER / "surrogate.Dockerfile").as_uri()
    client.open(uri, LONE_SURROGATE)
    (diagnostic,) = published(client, uri)
    assert diagnostic["severity"] == 1 and "U+D800" in diagnostic["message"]
    assert diagnostic["range"]["start"] == {"line": 1, "character": len("RUN echo ")}
    assert (
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": ON_THE_FIRST_RUN})["result"]
        is None
    )
    assert (
        client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}},
                "context": {"diagnostics": []},
            },
        )["result"]
        == []
    )
    client.notify(
        "textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": MERGEABLE}]}
    )
    assert {d.get("code") for d in published(client, uri)} == {"DF101"}
    client.close()


def test_a_pulled_lone_surrogate_is_the_error_report():
    client = WireClient()
    client.initialize({"textDocument": {"diagnostic": {}}})
    uri = (FOLDER / "pulled-surrogate.Dockerfile").as_uri()
    client.open(uri, "FROM debian:bookworm\nRUN echo \udfff && echo \U0001f600\n")
    (item,) = client.request("textDocument/diagnostic", {"textDocument": {"uri": uri}})["result"]["items"]
    assert item["severity"] == 1 and "U+DFFF" in item["message"]
    client.close()


def test_a_uri_naming_no_possible_file_is_analysed_without_a_folder():
    """A lone surrogate in the path: no file system can hold that name."""
    client = WireClient()
    client.initialize(options={"select": ["DF101"]})  # a layer-only merge is reported when named by its code
    uri = FOLDER.as_uri() + "/a\ud800/Dockerfile"
    client.open(uri, MERGEABLE)
    assert {d.get("code") for d in published(client, uri)} == {"DF101"}
    client.close()


INVALID_REQUEST = -32600


def test_a_request_after_shutdown_is_an_invalid_request_and_exit_still_ends_the_server():
    """LSP: "If a server receives requests after a shutdown request those requests should error with InvalidRequest"."""
    client = WireClient()
    client.initialize()
    client.open(URI, MERGEABLE)
    published(client, URI)
    assert client.request("shutdown", None)["result"] is None
    client.notify(
        "textDocument/didChange", {"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": "FROM a\n"}]}
    )
    for method, params in (
        ("textDocument/hover", {"textDocument": {"uri": URI}, "position": ON_THE_FIRST_RUN}),
        ("shutdown", None),
    ):
        assert client.request(method, params, timeout=10)["error"]["code"] == INVALID_REQUEST
    client.notify("exit", None)
    assert client.process.wait(timeout=20) == 0
    assert not [
        m for m in client.backlog if m.get("method") == "textDocument/publishDiagnostics"
    ]  # the change was dropped
    client.close()
