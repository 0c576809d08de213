"""The shared reading of the cleanup a RUN already does (dockerfix/knowledge/cleanups.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dockerfix.knowledge.cleanups import Removal, kept_out_by_mount, removed_after
from dockerfix.rewriter.document import parse_text

NAMES = st.text("abcxyz0-_.", min_size=1, max_size=6).filter(lambda name: name not in (".", ".."))
FOLDERS = st.lists(NAMES, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))


def removes(dockerfile: str, path: str, after: str) -> bool:
    """Whether the last RUN removes ``path`` after its first command whose text starts with ``after``."""
    document = parse_text(dockerfile)
    stage = document.stages[-1]
    run = stage.instructions[-1]
    assert run.shell is not None
    commands = run.shell.simple_commands()
    position = next(
        index for index, command in enumerate(commands) if run.shell.source[command.start :].startswith(after)
    )
    return removed_after(stage, run, position, path)


@given(FOLDERS, NAMES, NAMES)
def test_a_removal_covers_what_lies_below_it_and_nothing_beside_it(folder, name, other):
    path = f"{folder}/{name}"
    assert Removal(folder).covers(path)
    assert Removal(folder + "/").covers(path)
    assert Removal(folder + "/*").covers(path)
    assert Removal(path).covers(path + "/inner")
    assert Removal(f"{folder}/{name[0]}*").covers(path)
    assert Removal(folder, name=name).covers(f"{path}")
    assert not Removal(path).covers(folder)
    if other != name:
        assert not Removal(f"{folder}/{other}").covers(path)
        assert not Removal(folder, name=other).covers(path)


@settings(max_examples=60, deadline=None)
@given(
    FOLDERS,
    NAMES,
    st.sampled_from(
        [
            "rm -rf {path}",
            "rm -r {folder}",
            'rm -rf "{folder}"/*',
            "rm -f -- {path}",
            "find {folder} -type f -delete",
            "find {folder} -name '{name}' -exec rm -f {{}} +",
            'rm -rf "$TARGET"',
            "rm -rf ${{TARGET}}/{name}",
        ]
    ),
)
def test_a_removal_written_any_common_way_counts_only_after_the_command(folder, name, written):
    path = f"{folder}/{name}"
    removal = written.format(path=path, folder=folder, name=name)
    for prelude, setting in (
        ("", f"ENV TARGET={folder}\n"),
        ("", f"ARG TARGET={folder}\n"),
        (f"export TARGET={folder}; ", ""),
    ):
        dockerfile = f"FROM debian\n{setting}RUN {prelude}make-mess && {removal}\n"
        assert removes(dockerfile, path, "make-mess")
        assert not removes(f"FROM debian\n{setting}RUN {prelude}{removal} && make-mess\n", path, "make-mess")


def test_a_temporary_home_removed_through_its_variable_counts():
    dockerfile = (
        'FROM php\nRUN set -eux; export COMPOSER_HOME="$(mktemp -d)"; composer install; rm -rf "$COMPOSER_HOME"\n'
    )
    assert removes(dockerfile, "$COMPOSER_HOME/cache/files", "composer")
    assert not removes(dockerfile, "/root/.composer/cache/files", "composer")


def test_relative_removals_are_read_in_the_folder_the_run_is_in():
    assert removes("FROM debian\nWORKDIR /tmp\nRUN fetch && rm -f a.tgz\n", "/tmp/a.tgz", "fetch")
    assert not removes("FROM debian\nWORKDIR /opt\nRUN fetch && rm -f a.tgz\n", "/tmp/a.tgz", "fetch")
    assert removes("FROM debian\nWORKDIR /opt\nRUN fetch && cd /tmp && rm -f a.tgz\n", "/tmp/a.tgz", "fetch")
    assert removes("FROM debian\nRUN cd /tmp && fetch a.tgz && cd / && rm /tmp/a.tgz\n", "a.tgz", "fetch")
    # after a `cd` it cannot follow, a relative removal is compared with the end of the path: quiet, not loud
    assert removes('FROM debian\nWORKDIR /opt\nRUN fetch && cd "$(mktemp -d)" && rm -f a.tgz\n', "/tmp/a.tgz", "fetch")


def test_apt_dist_clean_removes_the_lists_and_unreadable_finds_do_not_count():
    assert removes(
        "FROM debian\nRUN apt-get update; apt-get dist-clean\n", "/var/lib/apt/lists/x_InRelease", "apt-get update"
    )
    assert not removes(
        "FROM debian\nRUN apt-get update; apt-get clean\n", "/var/lib/apt/lists/x_InRelease", "apt-get update"
    )
    assert not removes("FROM debian\nRUN make; find /tmp -mtime +1 -delete\n", "/tmp/a", "make")
    assert not removes("FROM debian\nRUN make; find /tmp -name a\n", "/tmp/a", "make")


def test_every_mount_but_secrets_keeps_its_target_out_of_the_image():
    for mount in (
        "type=cache,target=/var/cache/apk",
        "type=tmpfs,target=/var/cache",
        "target=/var/cache/apk,type=bind",
    ):
        document = parse_text(f"FROM alpine\nRUN --mount={mount} apk add curl\n")
        stage = document.stages[0]
        assert kept_out_by_mount(stage, stage.instructions[-1], "/var/cache/apk/APKINDEX.tar.gz")
    document = parse_text("FROM alpine\nRUN --mount=type=secret,id=x,target=/var/cache/apk apk add curl\n")
    stage = document.stages[0]
    assert not kept_out_by_mount(stage, stage.instructions[-1], "/var/cache/apk/APKINDEX.tar.gz")


def test_a_mount_target_named_through_a_variable_reads_the_stage_variables():
    for setting, target in (
        ("ENV CACHE=/var/cache/apk\n", "$CACHE"),
        ("ARG CACHE=/var/cache\n", "${CACHE}/apk"),
    ):
        document = parse_text(f"FROM alpine\n{setting}RUN --mount=type=cache,target={target} apk add curl\n")
        stage = document.stages[0]
        assert kept_out_by_mount(stage, stage.instructions[-1], "/var/cache/apk/APKINDEX.tar.gz"), target
