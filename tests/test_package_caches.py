"""uv, Poetry and pnpm caches (DF118, DF119, DF107): where the flag goes among uv's options, and which removals
of a moved cache folder count as its cleanup."""

from __future__ import annotations

import csv
import posixpath
import re
from pathlib import Path

import dockerfile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerfix.rewriter import engine
from dockerfix.rewriter.document import Instruction, parse_text
from dockerfix.rewriter.pipeline import AppliedFix
from dockerfix.rewriter.source import Source
from dockerfix.rules.df102_apt_lists_cleanup import AptListsCleanup
from dockerfix.rules.df105_pip_no_cache_dir import PipNoCacheDir
from dockerfix.rules.df107_js_cache_clean import JsCacheClean
from dockerfix.rules.df112_composer_cache_clean import ComposerCacheClean
from dockerfix.rules.df118_uv_no_cache import UvNoCache
from dockerfix.rules.df119_poetry_cache_clean import PoetryCacheClean
from dockerfix.verify.compare import compare_files
from dockerfix.verify.image import Entry

# uv options that take no value, valid before and after the subcommand
FLAGS = st.lists(
    st.sampled_from(["-q", "--quiet", "-v", "--offline", "--no-progress", "--native-tls", "--frozen"]), max_size=3
)
SUBCOMMANDS = st.sampled_from(["pip install", "pip sync", "sync", "add", "tool install"])
FOLDERS = st.lists(st.sampled_from(["opt", "var", "cache", "p-1", "x"]), min_size=1, max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)


def fixed(rule, text: str, target: str) -> str:
    return engine.fix(Source(text), [rule], unsafe_fixes=True, options={"target": target}).text


@settings(max_examples=60, deadline=None)
@given(before=FLAGS, subcommand=SUBCOMMANDS, after=FLAGS)
def test_uv_gets_no_cache_right_after_its_subcommand_and_then_is_quiet(before, subcommand, after):
    command = " ".join(["uv", *before, subcommand, *after, "requests"])
    text = f"FROM python:3.12\nRUN {command}\n"
    legacy = fixed(UvNoCache(), text, "legacy")
    assert legacy == text.replace(f" {subcommand}", f" {subcommand} --no-cache", 1)
    mounted = fixed(UvNoCache(), text, "buildkit")
    assert mounted == text.replace("RUN ", "RUN --mount=type=cache,target=/root/.cache/uv ", 1)
    for result in (legacy, mounted):
        dockerfile.parse_string(result)
        assert engine.check(parse_text(result), [UvNoCache()]) == ()


@settings(max_examples=60, deadline=None)
@given(folder=FOLDERS, written=st.sampled_from(["{f}", "{f}/", '"$POETRY_CACHE_DIR"', "${{POETRY_CACHE_DIR}}/*"]))
def test_a_removal_of_the_whole_poetry_cache_folder_counts_and_of_one_half_does_not(folder, written):
    stage = f"FROM python:3.12\nENV POETRY_CACHE_DIR={folder}\n"
    whole = written.format(f=folder)
    assert engine.check(parse_text(stage + f"RUN poetry install && rm -rf {whole}\n"), [PoetryCacheClean()]) == ()
    (finding,) = engine.check(
        parse_text(stage + f"RUN poetry install && rm -rf {folder}/cache\n"), [PoetryCacheClean()]
    )
    assert f"{folder}/artifacts" in finding.message


@settings(max_examples=40, deadline=None)
@given(home=FOLDERS)
def test_pnpm_follows_pnpm_home_and_a_numeric_user_owns_the_mounts(home):
    text = f"FROM node:20\nENV PNPM_HOME={home} XDG_CACHE_HOME={home}/c\nUSER 1000:1000\nRUN pnpm install\n"
    owner = ",uid=1000,gid=1000"
    assert fixed(JsCacheClean(), text, "buildkit") == text.replace(
        "RUN ", f"RUN --mount=type=cache,target={home}/store{owner} --mount=type=cache,target={home}/c/pnpm{owner} ", 1
    )
    assert fixed(JsCacheClean(), text, "legacy").endswith(f"&& rm -rf {home}/store {home}/c/pnpm\n")


def test_a_stage_below_that_moves_the_cache_keeps_the_mount_out():
    text = "FROM python:3.12 AS base\nENV POETRY_CACHE_DIR=/opt/poetry-cache\nFROM base\nRUN poetry install\n"
    (finding,) = engine.check(parse_text(text), [PoetryCacheClean()], options={"target": "buildkit"})
    assert finding.fix is None and "stage below" in finding.message


def test_a_legacy_fix_declares_the_cache_folder_the_stage_moved_the_cache_to():
    """`dockerfix verify` accepts only the removals a fix declares: a cache the stage moved is removed there."""
    cases = (
        (
            ComposerCacheClean(),
            "FROM php:8.3\nENV COMPOSER_CACHE_DIR=/var/cache/composer\nRUN composer install\n",
            "/var/cache/composer",
        ),
        (
            PipNoCacheDir(),
            "FROM python:3.12\nENV PIP_CACHE_DIR=/srv/pip-cache\nRUN pip install flask\n",
            "/srv/pip-cache",
        ),
    )
    for rule, text, folder in cases:
        [finding] = engine.check(parse_text(text), [rule], options={"target": "legacy"})
        assert finding.fix is not None and finding.fix.changes is not None, rule.code
        assert folder in finding.fix.changes.removes, (rule.code, finding.fix.changes.removes)


def test_the_measured_uv_pair_is_the_rules_two_fixes_of_one_dockerfile():
    """docs/verify-results.md compares tests/verify_fixtures/uv-cache-mount/'s two Dockerfiles: each must be what
    DF118 writes for the other's source, one per target."""
    folder = Path(__file__).parent / "verify_fixtures" / "uv-cache-mount"
    before, after = (folder / "before.Dockerfile").read_text(), (folder / "after.Dockerfile").read_text()
    source = before.replace("uv pip install --no-cache ", "uv pip install ")
    assert engine.check(parse_text(source), [UvNoCache()])
    for target, expected in (("legacy", before), ("buildkit", after)):
        assert engine.fix(Source(source), [UvNoCache()], unsafe_fixes=True, options={"target": target}).text == expected


# A RUN that already mounts a folder a cache-mount fix would mount, the mount spelled every way BuildKit reads one
# target (`parseMount`: CSV fields, keys in any case, `dst`/`destination`, build variables, a target relative to the
# WORKDIR), or of another type; ``{f}`` is the folder, ``{r}`` the folder relative to the WORKDIR `/work`.
SPELLINGS = (
    "--mount=type=cache,target={f}",
    "--mount=type=cache,target={f}/",
    "--mount=type=cache,dst={f}",
    "--mount=type=cache,destination={f}",
    "--mount=type=cache,TARGET={f}",
    "--mount=type=cache,id=mine,target={f}",
    "--mount='type=cache,\"target={f}\"'",
    "--mount=type=cache,target=$FOLDER",
    "--mount=type=cache,target=${{FOLDER}}/",
    "--mount=type=cache,target=/{f}/./",
    "--mount=type=cache,target={r}",
    "--mount=type=tmpfs,target={f}",
    "--mount=target={f}",
    "--mount=type=bind,from=deps,source=/x,target={f}",
)
MOUNTED_RUNS = (
    (PipNoCacheDir(), "FROM python:3.12\n", "pip install flask", "/root/.cache/pip"),
    (JsCacheClean(), "FROM node:20\n", "npm ci", "/root/.npm"),
    (JsCacheClean(), "FROM node:20\n", "yarn install --frozen-lockfile", "/usr/local/share/.cache/yarn"),
    (JsCacheClean(), "FROM node:20\n", "pnpm install", "/root/.local/share/pnpm/store"),
    (
        ComposerCacheClean(),
        "FROM php:8.3\nENV COMPOSER_CACHE_DIR=/var/cache/composer\n",
        "composer install",
        "/var/cache/composer",
    ),
    (UvNoCache(), "FROM python:3.12\n", "uv pip install requests", "/root/.cache/uv"),
    (PoetryCacheClean(), "FROM python:3.12\n", "poetry install", "/root/.cache/pypoetry/cache"),
    (AptListsCleanup(), "FROM debian\n", "apt-get update && apt-get install -y curl", "/var/cache/apt"),
    (AptListsCleanup(), "FROM debian\n", "apt-get update && apt-get install -y curl", "/var/lib/apt/lists"),
)


def resolved_mount_targets(run: Instruction, variables: dict[str, str], workdir: str) -> list[str]:
    """The RUN's mount targets as BuildKit resolves them, for the plain `$NAME`/`${NAME}` these tests write."""
    targets = []
    for flag in run.flags:
        if flag.name == "mount":
            assert flag.value is not None
            options = {
                key.lower(): value
                for key, _, value in (field.partition("=") for field in next(csv.reader([flag.value])))
            }
            target = options.get("target") or options.get("dst") or options.get("destination")
            assert target is not None, flag.value
            target = re.sub(r"\$\{?(\w+)\}?", lambda match: variables[match[1]], target)
            targets.append(posixpath.normpath(posixpath.join(workdir, target)))
    return targets


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("rule, stage, command, folder", MOUNTED_RUNS, ids=lambda value: getattr(value, "code", None))
def test_a_cache_mount_fix_never_mounts_a_target_the_run_already_mounts(rule, stage, command, folder, spelling):
    flag = spelling.format(f=folder, r=posixpath.relpath(folder, "/work"))
    text = f"{stage}ARG FOLDER={folder}\nWORKDIR /work\nRUN {flag} {command}\n"
    result = fixed(rule, text, "buildkit")
    dockerfile.parse_string(result)
    run = parse_text(result).instructions[-1]
    targets = resolved_mount_targets(run, {"FOLDER": folder}, "/work")
    assert len(targets) == len(set(targets)), result
    assert fixed(rule, result, "buildkit") == result


@pytest.mark.parametrize("spelling", SPELLINGS[:11])
def test_apt_already_caching_its_archives_gets_only_the_lists_mount(spelling):
    flag = spelling.format(f="/var/cache/apt", r="../var/cache/apt")
    text = (
        f"FROM debian\nARG FOLDER=/var/cache/apt\nWORKDIR /work\nRUN {flag} apt-get update && apt-get install -y curl\n"
    )
    (finding,) = engine.check(parse_text(text), [AptListsCleanup()], options={"target": "buildkit"})
    assert finding.fix is not None and finding.fix.changes is not None
    assert [edit.content for edit in finding.fix.edits] == [
        "--mount=type=cache,target=/var/lib/apt/lists,sharing=locked "
    ]
    assert finding.fix.changes.removes == ("/var/lib/apt/lists",)
    assert finding.fix.changes.alters == ("/var/lib/apt/lists/partial",)


@pytest.mark.parametrize("target", ["buildkit", "legacy"])
def test_a_cache_mounted_through_the_variable_that_moves_it_is_left_alone(target):
    """BuildKit expands the stage's ENV and ARG in a mount's target: `$PIP_CACHE_DIR` is pip's cache folder."""
    text = (
        "FROM python:3.12\nENV PIP_CACHE_DIR=/srv/pip-cache\n"
        "RUN --mount=type=cache,target=$PIP_CACHE_DIR pip install flask\n"
    )
    assert engine.check(parse_text(text), [PipNoCacheDir()], options={"target": target}) == ()


def test_a_mount_whose_target_cannot_be_read_gets_no_second_mount():
    """A build argument without a default may name the very folder: no mount is added next to it."""
    text = "FROM python:3.12\nARG CACHE\nRUN --mount=type=cache,target=$CACHE pip install flask\n"
    assert fixed(PipNoCacheDir(), text, "buildkit").count("--mount") == 1


def test_verify_finds_the_apt_folders_the_mount_keeps_as_the_base_image_had_them_declared():
    """Run as root, apt makes its `partial` download folders `_apt:root` 0700 on each `update` and download
    (measured with apt 2.6.1 on Debian's 0755 root:root ones); with the mounts apt does that in the cache and the
    image keeps the base image's folders. Before the fix a later RUN may also have removed the lists, `partial` too."""
    text = "FROM debian\nRUN apt-get update && apt-get install -y curl\n"
    (finding,) = engine.check(parse_text(text), [AptListsCleanup()], options={"target": "buildkit"})
    as_debian_ships_them, as_apt_leaves_them = Entry("dir", 0o755, 0, 0, 0, ""), Entry("dir", 0o700, 42, 0, 0, "")
    after = {
        "/var/lib/apt/lists/partial": as_debian_ships_them,
        "/var/cache/apt/archives/partial": as_debian_ships_them,
    }
    for before in (
        {"/var/lib/apt/lists/partial": as_apt_leaves_them, "/var/cache/apt/archives/partial": as_apt_leaves_them},
        {"/var/cache/apt/archives/partial": as_apt_leaves_them},
    ):
        differences = compare_files(before, after, [AppliedFix.of(finding)])
        assert {difference.path for difference in differences} == set(after)
        assert {difference.declared_by for difference in differences} == {"DF102"}
