"""Every finding states its gain on every surface, and `min-gain` decides what is reported, fixed and failed on
(issue 20 §1-§2): the real command line, the real language server over stdio, the bot's body from real results."""

from __future__ import annotations

import json
import sys

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient
from test_cli import SAVINGS_KEYS, dockerfix, write

from dockerfix.bot.body import ChangedFile, context
from dockerfix.knowledge.baseimages import Reference, measured
from dockerfix.knowledge.gains import apt_lists_gain
from dockerfix.rewriter import pipeline
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.fixes import ByteGain
from dockerfix.rewriter.source import Source

# apt's lists left in the image of a Debian release whose size is measured, and of Ubuntu, whose is not
DEBIAN_LISTS = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
UBUNTU_LISTS = "FROM ubuntu:24.04\nRUN apt-get update && apt-get install -y curl\n"
# two RUNs whose merge saves a layer and nothing else
LAYER_ONLY = "FROM debian:bookworm\nRUN mkdir -p /app\nRUN chmod 755 /app\n"


def measured_apt_lists() -> ByteGain:
    gain = apt_lists_gain("debian", "bookworm")
    assert isinstance(gain, ByteGain), "the apt lists of bookworm are measured"
    return gain


MEASURED = measured_apt_lists()


def findings(result) -> list[dict]:
    return [finding for file in json.loads(result.stdout)["files"] for finding in file["findings"]]


def test_json_states_the_byte_gain_with_its_basis_or_why_it_is_unknown(tmp_path):
    write(tmp_path / "debian" / "Dockerfile", DEBIAN_LISTS)
    write(tmp_path / "ubuntu" / "Dockerfile", UBUNTU_LISTS)
    result = dockerfix("--output-format", "json", "debian/Dockerfile", "ubuntu/Dockerfile", cwd=tmp_path)
    debian, ubuntu = findings(result)
    assert debian["code"] == ubuntu["code"] == "DF102"
    assert set(debian["savings"]) == SAVINGS_KEYS
    assert debian["savings"]["bytes"] == MEASURED.bytes > 0
    assert "bookworm" in debian["savings"]["bytes_basis"] and debian["savings"]["bytes_unknown"] is None
    assert ubuntu["savings"]["bytes"] is None and ubuntu["savings"]["bytes_basis"] is None
    assert "ubuntu" in ubuntu["savings"]["bytes_unknown"]


def test_text_and_sarif_state_the_claim(tmp_path):
    write(tmp_path / "debian" / "Dockerfile", DEBIAN_LISTS)
    write(tmp_path / "ubuntu" / "Dockerfile", UBUNTU_LISTS)
    text = dockerfix("debian/Dockerfile", "ubuntu/Dockerfile", cwd=tmp_path).stdout.decode()
    assert f"(saves {MEASURED.describe()})" in text
    assert "(gain unknown (ubuntu 24.04's archive was not measured" in text
    sarif = json.loads(dockerfix("--output-format", "sarif", "debian/Dockerfile", cwd=tmp_path).stdout)
    (entry,) = sarif["runs"][0]["results"]
    assert entry["properties"]["savings"]["bytes"] == MEASURED.bytes
    assert entry["properties"]["claim"] == f"saves {MEASURED.describe()}"


def test_min_gain_governs_report_write_and_exit_code(tmp_path):
    target = write(tmp_path / "Dockerfile", DEBIAN_LISTS)
    above = f"{MEASURED.bytes + 1}"
    quiet = dockerfix("--unsafe-fixes", "--check", "--min-gain", above, "Dockerfile", cwd=tmp_path)
    assert quiet.returncode == 0 and "All checks passed." in quiet.stdout.decode()
    written = dockerfix("--unsafe-fixes", "--write", "--min-gain", above, "Dockerfile", cwd=tmp_path)
    assert written.returncode == 0 and target.read_text() == DEBIAN_LISTS
    reached = dockerfix("--unsafe-fixes", "--check", "--min-gain", str(MEASURED.bytes), "Dockerfile", cwd=tmp_path)
    assert reached.returncode == 1 and "DF102" in reached.stdout.decode()
    # the same setting from the configuration file
    write(tmp_path / ".dockerfix.toml", f"min-gain = {above}\nunsafe-fixes = true\n")
    assert dockerfix("--write", "Dockerfile", cwd=tmp_path).returncode == 0 and target.read_text() == DEBIAN_LISTS
    write(tmp_path / ".dockerfix.toml", 'min-gain = "1MB"\nunsafe-fixes = true\n')
    assert dockerfix("--write", "Dockerfile", cwd=tmp_path).returncode == 0 and target.read_text() != DEBIAN_LISTS


def test_unknown_gains_are_reported_whatever_min_gain_says(tmp_path):
    write(tmp_path / "Dockerfile", UBUNTU_LISTS)
    result = dockerfix("--check", "--min-gain", "1GB", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 1 and "gain unknown" in result.stdout.decode()


def test_a_layer_alone_is_not_reported_unless_the_rule_is_selected_by_its_exact_code(tmp_path):
    target = write(tmp_path / "Dockerfile", LAYER_ONLY)
    for selection in ((), ("--select", "DF1"), ("--select", "ALL")):
        result = dockerfix(*selection, "--write", "Dockerfile", cwd=tmp_path)
        assert result.returncode == 0 and target.read_text() == LAYER_ONLY, selection
    asked = dockerfix("--select", "DF120", "--check", "Dockerfile", cwd=tmp_path)
    assert asked.returncode == 1 and "DF120" in asked.stdout.decode() and "1 layer fewer" in asked.stdout.decode()
    assert dockerfix("--extend-select", "DF120", "--write", "Dockerfile", cwd=tmp_path).returncode == 0
    assert target.read_text() != LAYER_ONLY


def test_a_generated_files_summary_counts_only_findings_that_pass(tmp_path):
    generated = (
        "# Code generated by gen.py; DO NOT EDIT.\n" + LAYER_ONLY + "RUN apt-get update && apt-get install -y jq\n"
    )
    write(tmp_path / "Dockerfile", generated)
    (summary,) = findings(dockerfix("--output-format", "json", "Dockerfile", cwd=tmp_path))
    assert summary["code"] == "DF001" and "1 finding here (DF102)" in summary["message"]


def test_the_bot_body_sums_only_stated_byte_gains_and_lists_unknown_ones(tmp_path):
    settings = Settings(unsafe_fixes=True)
    changed = [
        ChangedFile(name, pipeline.run_source(Source(text, str(tmp_path / name)), settings))
        for name, text in (("debian/Dockerfile", DEBIAN_LISTS), ("ubuntu/Dockerfile", UBUNTU_LISTS))
    ]
    values = context(changed, "diff", "dockerfix/optimize", True, None)
    assert values["totals"] == [f"{MEASURED.bytes / 1000 / 1000:,.1f} MB of image", "1 change of unknown byte gain"]
    debian_row, ubuntu_row = (file["rows"][0] for file in values["files"])
    assert debian_row["saving"] == f"saves {MEASURED.describe()}"
    assert ubuntu_row["saving"].startswith("gain unknown (ubuntu 24.04") and ubuntu_row["bytes"] is None


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "dockerfix", "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_hover_states_the_claim(client: LanguageClient, tmp_path):
    uri = (tmp_path / "Dockerfile").as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=1, text=DEBIAN_LISTS)
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(line=1, character=6))
    )
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "DF102" in hover.contents.value and f"saves {MEASURED.describe()}" in hover.contents.value


ARCHIVE_LEFT = (
    "FROM debian\nRUN curl -fsSL -o /tmp/a.tar.gz https://example.invalid/a.tar.gz && tar -xzf /tmp/a.tar.gz -C /opt\n"
)


def claims(tmp_path, text: str, code: str, context: dict[str, str | bytes] | None = None) -> list[dict]:
    """The savings of ``code``'s findings on a real Dockerfile in a real build-context folder, the rule named by its
    code (so every finding is reported, whatever it claims)."""
    write(tmp_path / "Dockerfile", text)
    for name, content in (context or {}).items():
        write(tmp_path / name, content)
    result = pipeline.run_path(tmp_path / "Dockerfile", Settings(select=(code,), unsafe_fixes=True))
    return [finding.savings for finding in result.findings if finding.code == code and finding.savings is not None]


def test_a_later_cleanup_of_the_apt_lists_states_their_measured_size(tmp_path):
    later = DEBIAN_LISTS + "ENV A=1\nRUN rm -rf /var/lib/apt/lists/*\n"
    (lists,) = claims(tmp_path, later, "DF110")
    assert (lists["bytes"], lists["bytes_basis"], lists["layers"]) == (MEASURED.bytes, MEASURED.basis, 1)
    other = "FROM debian:bookworm\nRUN curl -o /tmp/a.tgz https://example.invalid/a.tgz\nENV A=1\nRUN rm /tmp/a.tgz\n"
    (download,) = claims(tmp_path, other, "DF110")
    assert download["bytes"] is None and "/tmp/a.tgz" in download["bytes_unknown"]


def test_a_split_states_the_measured_difference_of_exactly_measured_tags(tmp_path):
    program = 'WORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/app .\nCMD ["/out/app"]\n'
    (measured_tag,) = claims(tmp_path, "FROM golang:1.25\n" + program, "DF304")
    build = measured(Reference.parse("golang:1.25"))
    assert build is not None
    assert measured_tag["bytes"] == build.compressed_bytes and measured_tag["bytes_at_least"]
    assert "golang:1.25" in measured_tag["bytes_basis"] and build.date in measured_tag["bytes_basis"]
    (other_version,) = claims(tmp_path, "FROM golang:1.22\n" + program, "DF304")
    assert other_version["bytes"] is None and "`golang:1.22` not measured" in other_version["bytes_unknown"]


def test_context_sizes_are_the_byte_gain_of_a_chown_copy_and_of_ignore_lines(tmp_path):
    chown = "FROM debian:bookworm\nRUN useradd app\nCOPY data.bin /app/\nRUN chown -R app:app /app\n"
    (copied,) = claims(tmp_path / "chown", chown, "DF115", {"data.bin": b"\0" * 4096})
    assert copied["bytes"] == 4096 and "build context" in copied["bytes_basis"]
    ignored = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    files: dict[str, str | bytes] = {
        "package.json": "{}\n",
        "index.js": "1\n",
        "node_modules/left-pad/index.js": b"x" * 3000,
    }
    (kept_out,) = claims(tmp_path / "ignore", ignored, "DF204", files)
    assert kept_out["bytes"] >= 3000 and "build context" in kept_out["bytes_basis"]


@pytest.mark.parametrize(
    "code, text, reason",
    [
        ("DF104", "FROM alpine:3.20\nRUN apk update && apk add curl\n", "/var/cache/apk"),
        ("DF112", "FROM composer:2\nRUN composer require monolog/monolog\n", "registry could not be reached"),
        ("DF113", "FROM ruby:3.3\nRUN bundle install\n", "registry could not be reached"),
        ("DF114", "FROM debian\nRUN git clone https://example.invalid/x /src/x && make -C /src/x install\n", "/src/x"),
        (
            "DF111",
            ARCHIVE_LEFT,
            "once the build downloads it",
        ),
    ],
)
def test_gains_the_data_does_not_reach_are_unknown_with_the_reason(tmp_path, code, text, reason):
    found = claims(tmp_path, text, code)
    assert found and all(claim["bytes"] is None and reason in claim["bytes_unknown"] for claim in found)


def test_an_archive_left_behind_is_reported_by_default_with_its_size_unknown(tmp_path):
    write(
        tmp_path / "Dockerfile",
        ARCHIVE_LEFT,
    )
    (finding,) = findings(dockerfix("--output-format", "json", "Dockerfile", cwd=tmp_path))
    assert finding["code"] == "DF111" and finding["savings"]["bytes_unknown"]


def test_a_rule_that_claims_nothing_is_reported_only_when_named_by_its_code(tmp_path):
    write(tmp_path / "Dockerfile", "FROM debian:bookworm\nADD app.py /app/\n")
    write(tmp_path / "app.py", "print(1)\n")
    assert dockerfix("--check", "Dockerfile", cwd=tmp_path).returncode == 0
    named = dockerfix("--select", "DF202", "--check", "Dockerfile", cwd=tmp_path)
    assert named.returncode == 1 and "DF202" in named.stdout.decode()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "dockerfix", "lsp"]))
async def demanding_client(lsp_client: LanguageClient):
    """A client whose settings ask for more than the apt lists save."""
    options = {"min-gain": MEASURED.bytes + 1, "unsafeFixes": True}
    await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), initialization_options=options)
    )
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_language_servers_min_gain_setting_holds_back_smaller_gains(
    demanding_client: LanguageClient, tmp_path
):
    published = {}
    for name, text in (("debian", DEBIAN_LISTS), ("ubuntu", UBUNTU_LISTS)):
        uri = (tmp_path / name / "Dockerfile").as_uri()
        demanding_client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=1, text=text)
            )
        )
        await demanding_client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        published[name] = [diagnostic.code for diagnostic in demanding_client.diagnostics[uri]]
    # the measured apt lists are below the client's min-gain; Ubuntu's unknown gain is shown whatever it says
    assert published == {"debian": [], "ubuntu": ["DF102"]}
