"""DF117 stays quiet in build environments whose product is an artifact, and states what removing the compilers
saves: the Installed-Size (Debian's index) of the packages they brought, or unknown."""

from __future__ import annotations

from dockerfix import output
from dockerfix.knowledge import gains
from dockerfix.rewriter import engine, pipeline
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.fixes import ByteGain, Unknown
from dockerfix.rewriter.source import Source
from dockerfix.rules.df117_compiler_left_installed import CompilerLeftInstalled

SERVICE = (
    "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends gcc make curl"
    ' && make -C /src install\nCMD ["/usr/local/bin/server"]\n'
)


def findings(text: str, path: str = "Dockerfile"):
    return engine.check(parse_text(text, path), [CompilerLeftInstalled()])


def test_the_gain_is_the_installed_size_of_what_the_compilers_brought():
    (finding,) = findings(SERVICE)
    index = gains.debian_index("bookworm")
    assert index is not None
    with_compilers = index.walk(["gcc", "make", "curl"], recommends=False, installed=index.minbase).installed
    without = index.walk(["make", "curl"], recommends=False, installed=index.minbase).installed  # gcc is purged
    expected = index.installed_kib(with_compilers - without) * gains.KIBIBYTE
    gain = finding.savings.byte_gain
    assert isinstance(gain, ByteGain) and gain.bytes == expected and "bookworm" in gain.basis
    # stated once where the finding is shown: the claim follows the message on every surface
    shown = output.text_findings([pipeline.run_source(Source(SERVICE), Settings(select=("DF117",)))])
    assert shown.count(f"{expected / 1_000_000:,.1f} MB") == 1 and shown.count("saves") == 1


def test_recommended_packages_count_when_the_install_takes_them():
    (finding,) = findings(SERVICE.replace("--no-install-recommends ", ""))
    (without_recommends,) = findings(SERVICE)
    assert finding.savings.bytes > without_recommends.savings.bytes


def test_alpine_and_images_that_are_not_bare_debian_have_an_unknown_gain():
    alpine = 'FROM alpine:3.20\nRUN apk add --no-cache gcc musl-dev make && make -C /src install\nCMD ["/srv"]\n'
    slim = SERVICE.replace("debian:bookworm-slim", "python:3.12-slim")
    for text in (alpine, slim):
        (finding,) = findings(text)
        assert isinstance(finding.savings.byte_gain, Unknown)


def test_a_build_environment_that_produces_an_archive_is_left_alone():
    builder = (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y gcc make\nCOPY . /src\n"
        "RUN make -C /src && tar -czf /out/hello.tar.gz -C /src/build .\n"
    )
    assert not findings(builder)
    # the same steps in an image that runs something: the compilers ship with it
    assert findings(builder + 'CMD ["/src/build/hello"]\n')


def test_a_dockerfile_named_as_a_build_environment_is_left_alone():
    text = SERVICE.replace('CMD ["/usr/local/bin/server"]', 'CMD ["./hello"]')
    for name in ("Dockerfile.build", "builder.Dockerfile", "ci/Dockerfile.builder"):
        assert not findings(text, name), name
    assert findings(text, "Dockerfile.prod")


def test_an_image_that_offers_a_build_environment_keeps_its_compilers():
    # a toolchain image (a compiler that links with gcc, a shell to build in): the compilers are what it offers
    toolchain = (
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make"
        " libgmp-dev\nCOPY ghc /src\nRUN cd /src && ./configure && make install\n"
    )
    for command in ('CMD ["ghci"]\n', 'CMD ["bash"]\n', "CMD gcc --version\n"):
        assert not findings(toolchain + command), command
    assert findings(toolchain + 'CMD ["ghc-server", "--port", "80"]\n')
    assert findings(toolchain + 'CMD ["python3", "app.py"]\n')
