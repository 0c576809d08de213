"""The base-image data file, image references, dependency declarations and the multi-stage split's invariant."""

from __future__ import annotations

import subprocess
import sys

import dockerfile
import pytest
from conftest import REPO
from hypothesis import given
from hypothesis import strategies as st

from dockerfix.knowledge.analysis import shell_runs
from dockerfix.knowledge.baseimages import (
    Identified,
    Measurement,
    Reference,
    data,
    expand_global_args,
    identify,
    measured,
    variants,
)
from dockerfix.knowledge.dependencies import declared, install_command, setup_py_requirements
from dockerfix.knowledge.multistage import ECOSYSTEM_OF_FAMILY, plan, promises
from dockerfix.rewriter import engine
from dockerfix.rewriter.arguments import expand_word
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.source import Source
from dockerfix.rewriter.toml import parse_toml
from dockerfix.rules.df301_slim_base_image import SlimBaseImage
from dockerfix.rules.df302_alpine_native_dependencies import AlpineNativeDependencies
from dockerfix.rules.df303_base_image_tag import BaseImageTag
from dockerfix.rules.df304_multi_stage_split import keeps_promises

ECOSYSTEMS = sorted(set(ECOSYSTEM_OF_FAMILY.values()))


def test_the_shipped_tables_are_the_kept_toml_and_what_the_script_makes_of_it():
    """The package reads JSON that scripts/base_image_data.py makes from data/base_images.toml (the file people edit):
    the same tables, and the very bytes the script writes (run it after editing the TOML)."""
    assert data() == parse_toml((REPO / "data" / "base_images.toml").read_text(encoding="utf-8"))
    result = subprocess.run(
        [sys.executable, "scripts/base_image_data.py", "--check"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


SPLIT_CASES = {
    "go": "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /bin/app .\nUSER app\nCMD /bin/app --serve\n",
    "node": (
        "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN yarn install --frozen-lockfile && yarn build\nLABEL a=b\n"
        'VOLUME /data\nCMD ["node", "dist/main.js"]\n'
    ),
    "python": (
        "FROM python:3.11\nRUN apt-get update && apt-get install -y gcc libpq-dev\nWORKDIR /app\nCOPY . .\n"
        'RUN pip install -r requirements.txt\nSHELL ["/bin/bash", "-c"]\nCMD python app.py\n'
    ),
    "java": (
        "FROM gradle:8-jdk17\nWORKDIR /home/gradle/src\nCOPY . .\nRUN gradle build --no-daemon\n"
        'STOPSIGNAL SIGTERM\nCMD ["java", "-jar", "build/libs/app.jar"]\n'
    ),
    "rust": (
        "FROM rust:1.79\nWORKDIR /app\nCOPY . .\n"
        "RUN cargo build --release && cp target/release/svc /usr/local/bin/svc\nHEALTHCHECK CMD svc --check\n"
        'ENTRYPOINT ["svc"]\n'
    ),
}


def identified(text: str) -> Identified:
    found = identify(Reference.parse(text))
    assert found is not None, f"{text} is an official image"
    return found


def measurement(text: str) -> Measurement:
    found = measured(Reference.parse(text))
    assert found is not None, f"{text} is measured"
    return found


def test_every_ecosystem_has_a_case():
    assert sorted(SPLIT_CASES) == ECOSYSTEMS


@pytest.mark.parametrize("ecosystem", ECOSYSTEMS)
def test_split_keeps_what_the_final_image_declares(ecosystem):
    document = parse_text(SPLIT_CASES[ecosystem])
    split = plan(document, identified(document.stages[-1].base_image))
    assert split is not None and split.ecosystem == ecosystem
    proposal = split.render("\n")
    dockerfile.parse_string(proposal)
    after = parse_text(proposal)
    assert len(after.stages) == 2 and after.stages[-1].base_image == split.values["runtime_image"]
    assert keeps_promises(document, proposal, split.added_env)
    assert set(promises(after)["env"]) - set(promises(document)["env"]) <= set(split.added_env)


def test_invariant_notices_a_lost_promise():
    document = parse_text('FROM golang:1.22\nEXPOSE 80\nCMD ["/app"]\n')
    assert not keeps_promises(document, 'FROM scratch\nCMD ["/app"]\n', ())


def test_go_binary_through_path_on_a_non_static_build_goes_to_debian_slim():
    split = plan(parse_text(SPLIT_CASES["go"]), identified("golang:1.22"))
    # shell-form CMD and a named USER need a shell and /etc/passwd; USER comes after the copy, so no --chown
    assert split is not None and split.values["runtime_image"] == "debian:bookworm-slim" and split.values["chown"] == ""


@pytest.mark.parametrize("family", sorted(data()["families"]))
def test_pinned_tag_and_measured_sizes_of_every_family(family):
    entry = data()["families"][family]
    pinned = Reference.parse(f"{entry['repositories'][0]}:{entry['pinned']}")
    identified = identify(pinned)
    assert identified is not None
    assert all(variant.libc for variant in variants(family).values())
    if identified.variant.slim:
        slim = measurement(f"{pinned.repository}:{identified.slim_tag()}")
        full = measured(pinned)
        assert full is not None and slim.compressed_bytes < full.compressed_bytes


def test_shipped_sizes_equal_the_shared_data():
    shared = REPO.parent / "shared" / "data" / "official-image-sizes.tsv"
    if not shared.exists():
        pytest.skip(f"no shared data at {shared}")
    assert (REPO / "dockerfix" / "data" / "official-image-sizes.tsv").read_bytes() == shared.read_bytes()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("python:3.12", "python:3.12"),  # measured itself
        ("python:3.12-bookworm", "python:3.12"),  # same version and variant, another release
        ("python:3.12.7-slim", "python:3.12-slim"),
        ("python:3.9", "python:3.13"),  # newest measured version of the variant
        ("eclipse-temurin:17", "eclipse-temurin:17-jdk"),
        ("node:20-slim", "node:22-slim"),
        ("golang:1.25-windowsservercore", None),
        ("myorg/python:3.12", None),
    ],
)
def test_measured_size_stands_for_a_tag(text, expected):
    measurement = measured(Reference.parse(text))
    assert (measurement and measurement.reference) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("python:3.12-slim", ("python", "slim", "3.12")),
        ("library/node:20-bookworm-slim", ("node", "slim", "20")),
        ("eclipse-temurin:21-jdk-jammy", ("eclipse-temurin", "full", "21")),
        ("python", ("python", "full", "latest")),
        ("registry.example.invalid/python:3.12", None),
        ("myorg/python:3.12", None),
    ],
)
def test_identify(text, expected):
    identified = identify(Reference.parse(text))
    assert (identified and (identified.family, identified.variant.name, identified.version)) == expected


def test_identify_answers_each_reference_by_its_whole_value():
    """Kept per reference for the run (every stage of every check asks): a reference that differs in its tag, its
    repository or its host only gets its own answer, asked in any order."""
    texts = ["python:3.12-slim", "python:3.12-alpine", "node:3.12-slim", "python:3.12-slim", "example.invalid/python"]
    answers = [identify(Reference.parse(text)) for text in texts]
    read = [answer and (answer.family, answer.variant.name) for answer in answers]
    assert read == [("python", "slim"), ("python", "alpine"), ("node", "slim"), ("python", "slim"), None]


@pytest.mark.parametrize(
    "run, expected",
    [
        ("docker-php-ext-install -j$(nproc) OCI8 pdo_oci", ("php", {"ext-oci8", "ext-pdo_oci"}, False)),
        ("pecl install -o oci8-3.3.0 && docker-php-ext-enable oci8", ("php", {"ext-oci8"}, False)),
        ("composer require h4cc/wkhtmltopdf-amd64:^0.12 --no-scripts", ("php", {"h4cc/wkhtmltopdf-amd64"}, False)),
        ("composer install --no-dev", ("php", set(), True)),
        ("pecl channel-update pecl", None),
        # each package manager's own options: npm's `-f` is --force and gem's `-r` --remote, neither takes a value
        ("npm install -f grpc", ("node", {"grpc"}, False)),
        ("gem install -r nokogiri", ("ruby", {"nokogiri"}, False)),
        # an option's value is not a package, and an install that names none reads the project's manifest
        ("npm install --registry https://registry.example.invalid", ("node", set(), True)),
        ("pip install --trusted-host pypi.example.invalid psycopg2", ("python", {"psycopg2"}, False)),
        ("pip install -e git+https://example.invalid/x.git#egg=x", ("python", set(), True)),
        ("pip install -rrequirements.txt", ("python", set(), True)),
    ],
)
def test_install_commands(run, expected):
    installs = [
        install_command(command)
        for _, commands in shell_runs(parse_text(f"FROM php:8.3\nRUN {run}\n").stages[0])
        for command in commands
    ]
    found = [
        (install.ecosystem, set(install.named), install.reads_files) for install in installs if install is not None
    ]
    assert found == ([expected] if expected else [])


def test_a_native_package_after_a_flag_is_reported_on_alpine():
    (finding,) = engine.check(
        parse_text("FROM node:20-alpine\nRUN npm install -f grpc\n"), [AlpineNativeDependencies()]
    )
    assert finding.code == "DF302" and "`grpc`" in finding.message


@pytest.mark.parametrize(
    "image, replacement",
    [
        ("php:8.3-fpm-alpine3.20", "php:8.3-fpm"),
        ("php:fpm-alpine", "php:fpm"),
        ("php:8.3-alpine", "php:8.3"),
        ("golang:alpine", "golang"),
        ("python:3.12-alpine", "python:3.12-slim"),
    ],
)
def test_alpine_replacement_keeps_version_and_flavour(image, replacement, tmp_path):
    (tmp_path / "composer.json").write_text('{"require": {"ext-pdo_oci": "*"}}')
    (tmp_path / "go.mod").write_text("module m\nrequire github.com/mattn/go-sqlite3 v1.14.22\n")
    (tmp_path / "requirements.txt").write_text("torch\n")
    text = f"FROM {image}\nCOPY . .\n"
    result = engine.fix(
        Source(text), [AlpineNativeDependencies()], BuildContext.from_directory(tmp_path), unsafe_fixes=True
    )
    assert result.text == f"FROM {replacement}\nCOPY . .\n"
    dockerfile.parse_string(result.text)


def test_from_resolves_through_global_arg_defaults():
    document = parse_text("ARG V=3.12\nARG FLAVOUR\nFROM python:${V}-${FLAVOUR:-slim}\nFROM python:${OTHER}\n")
    assert expand_global_args(document.stages[0].base_image, document) == "python:3.12-slim"
    assert expand_global_args(document.stages[1].base_image, document) is None


def test_setup_py_is_read_without_running_it():
    text = (
        "import sys\nsys.exit('must not run')\nDEPS = ['psycopg2>=2.9', \"Flask\"]\n"
        "setup(name='x', install_requires=DEPS)\n"
    )
    assert setup_py_requirements(text) == {"psycopg2", "Flask"}
    assert setup_py_requirements("setup(install_requires=compute())\n") == set()
    assert setup_py_requirements("def (:\n") is None


def test_declarations_of_every_ecosystem(tmp_path):
    files = {
        "requirements-dev.txt": "-r requirements.txt\nPyTest==8 # tests\n",
        "requirements.txt": "torch>=2\n--index-url x\n",
        "pyproject.toml": (
            "[project]\ndependencies = ['numpy>=1']\n[project.optional-dependencies]\n"
            "pg = ['psycopg2']\n[tool.poetry.dependencies]\npython = '^3.12'\nOpenCV_Python = '*'\n"
        ),
        "Pipfile": "[packages]\nrequests = '*'\n",
        "package.json": '{"dependencies": {"canvas": "2"}, "devDependencies": {"puppeteer": "22"}}',
        "go.mod": "module m\nrequire (\n\tgithub.com/mattn/go-sqlite3 v1 // cgo\n)\nrequire golang.org/x/net v0.1.0\n",
        "Gemfile": "source 'x'\ngem 'pg', '~> 1.5'\ngem \"rails\"\n",
        "composer.json": (
            '{"require": {"PHP": ">=8.2", "ext-OCI8": "*", "Laravel/Framework": "^11"}, "require-dev": '
            '{"phpunit/phpunit": "^11"}}'
        ),
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    context = BuildContext.from_directory(tmp_path)
    assert declared(context, "python").packages == {"pytest", "torch", "numpy", "psycopg2", "opencv-python", "requests"}
    assert declared(context, "node").packages == {"canvas", "puppeteer"}
    assert declared(context, "go").packages == {"github.com/mattn/go-sqlite3", "golang.org/x/net"}
    assert declared(context, "ruby").packages == {"pg", "rails"}
    assert declared(context, "php").packages == {"ext-oci8", "laravel/framework", "phpunit/phpunit"}
    listed = declared(BuildContext.from_file_list(["requirements.txt"]), "python")
    assert listed.unreadable == ("requirements.txt",) and not listed.files


def test_slim_suggestion_names_the_measured_tags_and_dates():
    document = parse_text("FROM python:3.12\nRUN pip install --no-cache-dir flask\n")
    [finding] = engine.check(document, [SlimBaseImage()], None)
    full, slim = measurement("python:3.12"), measurement("python:3.12-slim")
    assert finding.savings is not None and finding.savings.bytes == full.compressed_bytes - slim.compressed_bytes
    assert finding.fix is not None
    for text in (finding.message, finding.fix.title):  # the title is what the bot's table shows
        assert f"{full.reference} {full.compressed_bytes / 1e6:,.1f} MB on {full.date}" in text
        assert f"{slim.reference} {slim.compressed_bytes / 1e6:,.1f} MB on {slim.date}" in text


def test_no_slim_suggestion_without_a_measured_saving():
    # Debian's own slim tag saves less than the minimum the data file sets
    assert not list(engine.check(parse_text("FROM debian:bookworm\nRUN echo small\n"), [SlimBaseImage()], None))


def test_jdk_stage_that_compiles_tomcat_native_is_not_told_to_use_the_jre():
    # the shape of the official tomcat image: the native library builds in a subshell against $JAVA_HOME's headers
    text = (
        "FROM eclipse-temurin:21-jdk-noble\n"
        "RUN set -eux; \\\n"
        "    apt-get update; apt-get install -y --no-install-recommends gcc libapr1-dev libssl-dev make; \\\n"
        '    ( cd "$nativeBuildDir/native"; ./configure --with-java-home="$JAVA_HOME"; make -j "$(nproc)"; make '
        "install ); \\\n"
        "    apt-get purge -y --auto-remove\n"
        'CMD ["catalina.sh", "run"]\n'
    )
    assert not list(engine.check(parse_text(text), [SlimBaseImage()], None))
    without_compiling = text.replace("./configure", "true").replace("make -j", "true").replace("make install", "true")
    assert [finding.code for finding in engine.check(parse_text(without_compiling), [SlimBaseImage()], None)] == [
        "DF301"
    ]


@pytest.mark.parametrize(
    "word, expected",
    [
        ('"${OS}"', "linux"),
        ("img:${OS}-$OS", "img:linux-linux"),
        ("'a b'", "a b"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNDECLARED:-d}", "d"),
        ("${OS:+p}", "p"),
        ("${NO_DEFAULT:-d}", "d"),  # the default build
        ("${NO_DEFAULT}", None),  # only --build-arg says
        ("${UNDECLARED}", None),
        ("${OS%x}", None),
    ],
)
def test_expand_word_as_buildkit(word, expected):
    assert expand_word(word, {"OS": "linux", "EMPTY": "", "NO_DEFAULT": None}) == expected


PLAIN = st.text(st.characters(exclude_characters="$\\\"'", exclude_categories=["Cs"]), max_size=30)


@given(PLAIN, PLAIN)
def test_expand_word_substitutes_values_and_removes_quotes(text, value):
    assert expand_word(text, {}) == text
    assert expand_word(f'"{text}"', {}) == text
    assert expand_word(f"'{text}'", {}) == text
    assert expand_word("a${V}b", {"V": value}) == f"a{value}b"
    default = text.replace("}", "")  # a `}` would end the default word
    assert expand_word(f'"${{V:-{default}}}"', {"V": None}) == default


def tag_findings(text: str, context: BuildContext | None = None) -> list[str]:
    return [finding.message for finding in engine.check(parse_text(text), [BaseImageTag()], context)]


def test_quoted_arg_defaults_are_unquoted_in_from():
    document = parse_text('ARG IMAGE="python"\nFROM ${IMAGE}\n')
    assert expand_global_args(document.stages[0].base_image, document) == "python"
    quoted_tag = parse_text("ARG TAG='latest'\nFROM node:${TAG}\n")
    assert expand_global_args(quoted_tag.stages[0].base_image, quoted_tag) == "node:latest"
    # the build chooses an image made of build arguments: no tag advice for it
    assert tag_findings('ARG IMAGE="python"\nFROM ${IMAGE}\n') == []


@pytest.mark.parametrize(
    "name, builder",
    [
        ("Makefile", "base:\n\tdocker build -t myorg/base:latest -f base.Dockerfile .\n"),
        ("scripts/build.sh", "docker buildx build --tag=myorg/base .\n"),
        ("compose.yaml", "services:\n  base:\n    build: ./base\n    image: myorg/base\n"),
        ("docker-bake.hcl", 'target "base" {\n  tags = ["myorg/base"]\n}\n'),
        (".github/workflows/images.yml", "steps:\n  - run: docker tag base-image:ci myorg/base\n"),
    ],
)
def test_an_image_the_context_builds_is_not_asked_for_a_tag(tmp_path, name, builder):
    text = "FROM myorg/base\nRUN true\n"
    (tmp_path / "Dockerfile").write_text(text)
    assert tag_findings(text, BuildContext.from_directory(tmp_path))
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(builder)
    assert not tag_findings(text, BuildContext.from_directory(tmp_path))
    (tmp_path / name).write_text(builder.replace("myorg/base", "myorg/base-tools"))
    assert tag_findings(text, BuildContext.from_directory(tmp_path))
