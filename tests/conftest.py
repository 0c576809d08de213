from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from dockerfix.rewriter import registry

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
REAL = SHARED_CORPUS / "real"
BUILDKIT = SHARED_CORPUS / "buildkit-parser"
EXPERT = SHARED_CORPUS / "expert"


def real_dockerfiles() -> list[Path]:
    return sorted(REAL.glob("*.Dockerfile"))


def expert_dockerfiles() -> list[Path]:
    """The expert corpus: one folder per Dockerfile (named in PROVENANCE.tsv), the folder being its build context."""
    provenance = EXPERT / "PROVENANCE.tsv"
    if not provenance.exists():
        return []
    rows = [line.split("\t") for line in provenance.read_text().splitlines()[1:] if line.strip()]
    return [EXPERT / folder / dockerfile for folder, dockerfile, *_ in rows]


def buildkit_inputs() -> list[Path]:
    return sorted(BUILDKIT.rglob("Dockerfile"))


def all_corpus_files() -> list[Path]:
    return real_dockerfiles() + buildkit_inputs() + expert_dockerfiles()


def corpus_id(path: Path) -> str:
    return path.relative_to(SHARED_CORPUS).as_posix()


requires_corpus = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"shared corpus not found at {SHARED_CORPUS} (tests run from a checkout beside ../shared)"
)


def maintainer_plugin(code: str) -> str:
    """A plugin module's source: one rule, ``code``, that flags MAINTAINER (a finding that states no gain)."""
    return f'''
        from dockerfix.rewriter.rule import Rule

        class NoMaintainer(Rule):
            """What it does: flags MAINTAINER. Why: deprecated. Example: MAINTAINER x. Fix safety: no fix."""
            code = "{code}"
            name = "no-maintainer"
            summary = "MAINTAINER is deprecated."

            def check(self, document, context):
                for instruction in document.instructions:
                    if instruction.cmd == "maintainer":
                        yield self.finding("MAINTAINER is deprecated; use a LABEL", instruction.start, instruction.end)
    '''


def plugin_site(folder: Path, module_source: str, module: str = "acme_rules") -> Path:
    """A site folder in which the module ``module`` (``module_source``) is an installed dockerfix rule plugin (a
    distribution with a ``dockerfix.rules`` entry point): put it on ``PYTHONPATH`` or ``sys.path``. Plugins that
    may share one test process need their own module names (Python imports a module name once)."""
    site = folder / "site"
    info = site / f"{module}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[dockerfix.rules]\n{module} = {module}\n")
    (site / f"{module}.py").write_text(textwrap.dedent(module_source))
    return site


def plugin_environment(site: Path) -> dict[str, str]:
    """The environment of a `dockerfix` process (in CI mode) in which the plugin of ``site`` is installed."""
    return {**os.environ, "CI": "true", "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}


def plugin_installed_from(site: Path):
    """A fixture: the plugin of ``site`` installed in this process for one test (the rule registry forgets it after)."""

    @pytest.fixture
    def plugin_installed(monkeypatch):
        monkeypatch.syspath_prepend(str(site))
        registry.all_rules.cache_clear()
        yield
        registry.all_rules.cache_clear()

    return plugin_installed


def language_client(environment: dict[str, str] | None = None):
    """A fixture: a real LSP client (pytest-lsp) talking to `dockerfix lsp` started in ``environment`` (default: this
    process's), its session initialized with no client capabilities and shut down after the test."""

    @pytest_lsp.fixture(
        config=ClientServerConfig(server_command=[sys.executable, "-m", "dockerfix", "lsp"], server_env=environment)
    )
    async def client(lsp_client: LanguageClient):
        await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
        yield
        await lsp_client.shutdown_session()

    return client


def open_document(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=version, text=text)
        )
    )
