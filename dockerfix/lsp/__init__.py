"""`dockerfix lsp`: the language server, a thin shell over the pipeline. Diagnostics are the findings, quick fixes
their fixes, fix-all the engine's fix loop; positions are converted to the client's encoding here only.

It must never go deaf: frames are read by our own forgiving reader (`framing`), a request whose params do not
validate is answered with InvalidParams (`server`), and analyses run on a worker thread (`worker`) so the protocol
loop keeps answering while a big document is analysed; above `maxDocumentSize` (`settings`) a document is not
analysed at all (docs/decisions.md, section 16). The handlers (`handlers`) answer each LSP method."""

from __future__ import annotations

import gc


def serve(argv: list[str]) -> int:
    """Speak LSP over stdio until the client says exit."""
    import lsprotocol.types  # noqa: F401 (imported for the freeze below)
    import pygls.lsp.server  # noqa: F401 (imported for the freeze below)

    # what is loaded by now lives as long as the process: frozen, the collector stops walking lsprotocol's classes at
    # every full collection, which cost as much again as the server's own start-up (docs/decisions.md, issue 22)
    gc.freeze()
    from .handlers import server  # registers the handlers; the package's framing and settings load without them

    server.start_io()
    return 0
