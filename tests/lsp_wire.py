"""A raw LSP client for tests that must write bytes no well-behaved client would: it spawns `dockerfix lsp`, writes
whatever it is given to the server's stdin and reads the server's replies (framed strictly by the specification) on
a thread, so a test can wait for one reply with a timeout instead of hanging."""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 20.0


def frame(message: Any) -> bytes:
    return framed(json.dumps(message).encode("utf-8"))


def framed(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class WireClient:
    def __init__(self, *arguments: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockerfix", "lsp", *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            env=env,
            cwd=cwd,
        )
        assert self.process.stdin is not None and self.process.stdout is not None, "both are pipes"
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.received: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.ids = itertools.count(1)
        self.backlog: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.stdout
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if not line or length is None:
                self.received.put(None)
                return
            self.received.put(json.loads(stream.read(length)))

    def write(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.write(frame(message))

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_message(self, method: str, params: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": next(self.ids), "method": method, "params": params}

    def request(self, method: str, params: Any, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Send a request and return its response (answering anything the server asks meanwhile)."""
        message = self.request_message(method, params)
        self.send(message)
        return self.response_to(message["id"], timeout)

    def response_to(self, message_id: int, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        return self.next_message(lambda m: m.get("id") == message_id and "method" not in m, timeout)

    def notification(self, method: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        return self.next_message(lambda m: m.get("method") == method and "id" not in m, timeout)

    def next_message(self, wanted, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The first message ``wanted`` accepts, in arrival order; the others stay for later calls."""
        for index, message in enumerate(self.backlog):
            if wanted(message):
                return self.backlog.pop(index)
        while True:
            arrived = self.received.get(timeout=timeout)
            if arrived is None:
                raise EOFError("the server closed its output")
            if "method" in arrived and "id" in arrived:  # a server request: answer it so the server goes on
                self.send({"jsonrpc": "2.0", "id": arrived["id"], "result": None})
            if wanted(arrived):
                return arrived
            self.backlog.append(arrived)

    def forget(self) -> None:
        """Drop what arrived so far, so a test sharing this session sees only the messages it causes."""
        self.backlog.clear()
        while not self.received.empty():
            if self.received.get() is None:
                raise EOFError("the server closed its output")

    def initialize(self, capabilities: dict[str, Any] | None = None, options: Any = None) -> None:
        self.request(
            "initialize",
            {"processId": None, "rootUri": None, "capabilities": capabilities or {}, "initializationOptions": options},
        )
        self.notify("initialized", {})

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "dockerfile", "version": version, "text": text}},
        )

    def close(self) -> int:
        """Shut down politely; return the exit code."""
        if self.process.poll() is None:
            try:
                self.request("shutdown", None, timeout=10)
                self.notify("exit", None)
            except (OSError, EOFError, queue.Empty):
                self.process.kill()
        try:
            return self.process.wait(timeout=10)
        finally:
            for pipe in (self.stdin, self.stdout):
                try:
                    pipe.close()
                except OSError:  # stdin closed already, or the server gone with unread input
                    pass
