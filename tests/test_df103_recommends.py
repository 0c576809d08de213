"""DF103 drops only the recommended packages the rest of the stage does not need, and says what it drops and saves.

Which packages apt drops comes from Debian's shipped index (dockerfix.knowledge.gains); what the stage needs is read
from its later commands, the stages built on it, and the CMD/ENTRYPOINT scripts of the build context."""

from __future__ import annotations

import dockerfile

from dockerfix.knowledge import gains
from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.fixes import Applicability, ByteGain, Unknown
from dockerfix.rewriter.source import Source
from dockerfix.rules.df103_apt_no_install_recommends import AptNoInstallRecommends


def findings(text: str, context: BuildContext | None = None):
    return engine.check(parse_text(text), [AptNoInstallRecommends()], context)


def fixed(text: str, context: BuildContext | None = None) -> str:
    result = engine.fix(Source(text), [AptNoInstallRecommends()], context, unsafe_fixes=True)
    dockerfile.parse_string(result.text)
    return result.text


def test_https_download_on_a_bare_ubuntu_keeps_the_certificates_and_the_gain_is_unknown():
    text = (
        "FROM ubuntu:20.04\nRUN apt-get update && apt-get install -y wget\n"
        "RUN wget https://packages.example.invalid/server.deb\n"
    )
    (finding,) = findings(text)
    assert "ca-certificates" in fixed(text).split("\n")[1]
    assert "--no-install-recommends" in fixed(text)
    assert isinstance(finding.savings.byte_gain, Unknown) and "ubuntu" in finding.savings.byte_gain.reason
    assert "publicsuffix" in finding.message and "ca-certificates" not in finding.message.split("keeps")[0]


def test_certificates_are_kept_even_when_nothing_later_uses_https():
    # a program of the image (a Go or Java service) may verify TLS at run time: that cannot be read from the file
    text = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
    assert "install --no-install-recommends -y curl ca-certificates" in fixed(text)


def test_pip_keeps_the_compilers_and_headers_it_recommends():
    text = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y python3-pip\n"
    line = fixed(text).split("\n")[1]
    assert "build-essential" in line and "python3-dev" in line


def test_a_later_compile_keeps_the_headers_a_dependency_recommends():
    # cmake recommends gcc (kept: a recommendation of what was asked for); gcc recommends libc6-dev, which only a
    # compile needs
    install = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y cmake\n"
    compile_later = "COPY . /src\nRUN cmake -S /src -B /build && cmake --build /build\n"
    assert "gcc" in fixed(install).split("\n")[1] and "libc6-dev" not in fixed(install).split("\n")[1]
    assert "libc6-dev" in fixed(install + compile_later).split("\n")[1]


def test_the_byte_gain_is_what_the_rest_saves_on_a_shipped_debian_release():
    (finding,) = findings("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n")
    expected = gains.recommends_drop(["curl"], release="bookworm", keep=["ca-certificates"]).gain
    assert isinstance(expected, ByteGain) and finding.savings.byte_gain == expected
    assert "ca-certificates" not in finding.message.split("keeps")[0] and "krb5-locales" in finding.message


def test_no_finding_when_nothing_would_be_dropped():
    # make recommends nothing; curl, through what it depends on, recommends more than the certificates
    assert not findings("FROM debian:bookworm\nRUN apt-get update && apt-get install -y make\n")
    assert findings("FROM debian:bookworm\nRUN apt-get update && apt-get install -y make curl\n")


def test_packages_the_index_does_not_know_make_the_fix_display_only():
    for text in (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl not-a-debian-package\n",
        'FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl "$EXTRA"\n',
    ):
        (finding,) = findings(text)
        assert finding.fix.applicability is Applicability.DISPLAY_ONLY and "not fixed automatically" in finding.message


def test_an_entrypoint_script_that_cannot_be_read_makes_the_fix_display_only(tmp_path):
    text = (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nCOPY start.sh /\n"
        'ENTRYPOINT ["/start.sh"]\n'
    )
    (finding,) = findings(text, BuildContext.from_directory(tmp_path))
    assert finding.fix.applicability is Applicability.DISPLAY_ONLY and "start.sh" in finding.message


def test_a_readable_entrypoint_script_is_read_for_what_it_needs(tmp_path):
    text = (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y cmake\nCOPY start.sh /\n"
        'ENTRYPOINT ["/start.sh"]\n'
    )
    (tmp_path / "start.sh").write_text("#!/bin/sh\nexec /usr/local/bin/server\n")
    (quiet,) = findings(text, BuildContext.from_directory(tmp_path))
    assert quiet.fix.applicability is Applicability.UNSAFE and "libc6-dev" in quiet.message.split("keeps")[0]
    (tmp_path / "start.sh").write_text("#!/bin/sh\ncmake --build /src/build && exec /src/build/server\n")
    (compiling,) = findings(text, BuildContext.from_directory(tmp_path))
    assert "libc6-dev" in fixed(text, BuildContext.from_directory(tmp_path)).split("\n")[1]
    assert "libc6-dev" not in compiling.message.split("keeps")[0]


def test_a_stage_built_on_this_one_counts_as_the_rest_of_the_stage():
    text = (
        "FROM debian:bookworm AS base\nRUN apt-get update && apt-get install -y cmake\n"
        "FROM base\nCOPY hello.c /\nRUN gcc -o /hello /hello.c\n"
    )
    assert "libc6-dev" in fixed(text).split("\n")[1]


def test_an_unknown_base_uses_debians_relations_and_states_no_bytes():
    (finding,) = findings("FROM example.invalid/base:1\nRUN apt-get update && apt-get install -y curl\n")
    assert isinstance(finding.savings.byte_gain, Unknown)
    assert "krb5-locales" in finding.message


def test_a_script_inside_a_copied_folder_is_found_and_read(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "entrypoint.sh").write_text("#!/bin/sh\ncmake --build /src/build\n")
    (tmp_path / "Makefile").write_text("all:\n")
    text = (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y cmake\nCOPY . /app\n"
        "CMD /app/scripts/entrypoint.sh --serve\n"
    )
    (finding,) = findings(text, BuildContext.from_directory(tmp_path))
    assert finding.fix.applicability is Applicability.UNSAFE and "libc6-dev" not in finding.message.split("keeps")[0]
