"""False-positive classes of the blind review, each fixed as a rule about Dockerfiles: a setting that already does
what a fix would do, a cache in another user's home, an archive inside a folder the RUN deletes, tags meant to
float. And the gain each of these findings states."""

from __future__ import annotations

from dockerfix.knowledge import gains
from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.fixes import ByteGain, Unknown
from dockerfix.rules.df105_pip_no_cache_dir import PipNoCacheDir
from dockerfix.rules.df107_js_cache_clean import JsCacheClean
from dockerfix.rules.df108_gem_no_document import GemNoDocument
from dockerfix.rules.df111_downloaded_archive_left_behind import DownloadedArchiveLeftBehind
from dockerfix.rules.df112_composer_cache_clean import ComposerCacheClean
from dockerfix.rules.df303_base_image_tag import BaseImageTag


def check(rule, text):
    return engine.check(parse_text(text), [rule])


def test_pip_no_cache_dir_set_before_the_install_leaves_nothing_to_flag():
    for setting in (
        "ARG PIP_NO_CACHE_DIR=1\n",
        "ENV PIP_NO_CACHE_DIR=false\n",  # pip disables its cache for any value
    ):
        assert check(PipNoCacheDir(), f"FROM python:3.12\n{setting}RUN pip install flask\n") == ()
    assert (
        check(PipNoCacheDir(), "FROM python:3.12 AS base\nENV PIP_NO_CACHE_DIR=1\nFROM base\nRUN pip install flask\n")
        == ()
    )
    assert check(PipNoCacheDir(), "FROM python:3.12\nRUN export PIP_NO_CACHE_DIR=1; pip install flask\n") == ()
    assert check(PipNoCacheDir(), "FROM python:3.12\nRUN PIP_NO_CACHE_DIR=1 pip install flask\n") == ()


def test_an_arg_of_an_earlier_stage_does_not_reach_the_stage_built_on_it():
    (finding,) = check(
        PipNoCacheDir(), "FROM python:3.12 AS base\nARG PIP_NO_CACHE_DIR=1\nFROM base\nRUN pip install flask\n"
    )
    assert finding.code == "DF105"


def test_on_a_base_image_the_data_does_not_know_the_claim_says_it_depends_on_it():
    (official,) = check(PipNoCacheDir(), "FROM python:3.12-slim\nRUN pip install flask\n")
    assert "base image" not in official.message
    (other,) = check(PipNoCacheDir(), "FROM ghcr.io/acme/python-base:1\nRUN pip install flask\n")
    assert "unless the base image sets PIP_NO_CACHE_DIR" in other.message
    (staged,) = check(PipNoCacheDir(), "FROM python:3.12 AS base\nFROM base\nRUN pip install flask\n")
    assert "base image" not in staged.message


def test_the_pip_cache_gain_comes_from_the_measurement_of_the_packages_installed():
    (finding,) = check(PipNoCacheDir(), "FROM python:3.12\nRUN pip install flask==3.0\n")
    assert finding.savings.byte_gain == gains.package_cache_gain("pip", ["flask"])
    assert isinstance(finding.savings.byte_gain, ByteGain)
    (from_file,) = check(PipNoCacheDir(), "FROM python:3.12\nRUN pip install -r requirements.txt\n")
    assert isinstance(from_file.savings.byte_gain, Unknown) and "requirements file" in from_file.savings.bytes_unknown


def test_an_npm_install_under_another_user_names_that_users_cache_not_roots():
    (finding,) = check(JsCacheClean(), "FROM node:20\nUSER node\nRUN npm install express\n")
    assert "/root" not in finding.fix.title and "~/.npm of user node" in finding.fix.title
    assert finding.fix.changes.removes == ("/home/*/.npm",)
    (as_root,) = check(JsCacheClean(), "FROM node:20\nRUN npm install express\n")
    assert "/root/.npm" in as_root.fix.title


def test_the_npm_cache_gain_comes_from_the_measurement_of_the_packages_installed():
    (finding,) = check(JsCacheClean(), "FROM node:20\nUSER node\nRUN npm install express@4\n")
    assert finding.savings.byte_gain == gains.package_cache_gain("npm", ["express"])
    (lockfile,) = check(JsCacheClean(), "FROM node:20\nUSER node\nRUN npm ci\n")
    assert isinstance(lockfile.savings.byte_gain, Unknown)
    (yarn,) = check(JsCacheClean(), "FROM node:20\nUSER node\nRUN yarn add express\n")
    assert yarn.savings.bytes_unknown == "no cache of yarn was measured"


def test_a_gemrc_that_says_no_document_leaves_gem_installs_alone():
    fluentd = "FROM debian:bookworm\nRUN echo 'gem: --no-document' >> /etc/gemrc\nRUN gem install fluentd\n"
    assert check(GemNoDocument(), fluentd) == ()
    assert (
        check(
            GemNoDocument(),
            'FROM debian:bookworm\nRUN printf "install: --no-document\\n" > ~/.gemrc; gem install rack\n',
        )
        == ()
    )
    staged = (
        "FROM debian:bookworm AS base\nRUN echo 'gem: --no-document' >> /etc/gemrc\nFROM base\nRUN gem install rack\n"
    )
    assert check(GemNoDocument(), staged) == ()
    # written after the install, it comes too late for it
    (late,) = check(
        GemNoDocument(), "FROM debian:bookworm\nRUN gem install rack && echo 'gem: --no-document' >> /etc/gemrc\n"
    )
    assert late.code == "DF108"


def test_the_official_ruby_image_already_says_no_document_and_others_may():
    assert check(GemNoDocument(), "FROM ruby:3.3-slim\nRUN gem install bundler\n") == ()
    (other,) = check(GemNoDocument(), "FROM debian:bookworm\nRUN gem install bundler\n")
    assert "unless the base image's gemrc" in other.message
    unmeasured = gains.package_cache_gain("gem", ())
    assert isinstance(unmeasured, gains.Unknown) and other.savings is not None
    assert other.savings.bytes_unknown == unmeasured.reason


SPARK_LIKE = (
    "FROM debian:bookworm\n"
    'RUN set -ex; export BUILD_TMP="$(mktemp -d)"; cd "$BUILD_TMP"; '
    'wget -nv -O app.tgz "https://example.invalid/app.tgz"; '
    'tar -xzf app.tgz -C /opt; cd ..; rm -rf "$BUILD_TMP"\n'
)


def test_an_archive_in_a_folder_the_same_run_deletes_is_not_left_behind():
    assert check(DownloadedArchiveLeftBehind(), SPARK_LIKE) == ()
    named = SPARK_LIKE.replace('export BUILD_TMP="$(mktemp -d)"; cd "$BUILD_TMP"', "mkdir /tmp/build; cd /tmp/build")
    assert check(DownloadedArchiveLeftBehind(), named.replace('"$BUILD_TMP"', "/tmp/build")) == ()


def test_an_archive_in_a_variable_folder_the_run_keeps_is_still_left_behind():
    kept = SPARK_LIKE.replace('; cd ..; rm -rf "$BUILD_TMP"', "")
    (finding,) = check(DownloadedArchiveLeftBehind(), kept)
    assert finding.code == "DF111"
    other = SPARK_LIKE.replace('rm -rf "$BUILD_TMP"', 'rm -rf "$OTHER_TMP"')
    assert [finding.code for finding in check(DownloadedArchiveLeftBehind(), other)] == ["DF111"]


def test_a_base_image_made_of_build_arguments_gets_no_tag_advice():
    chain = "ARG REGISTRY=quay.io\nARG OWNER=acme\nARG BASE_IMAGE=$REGISTRY/$OWNER/base-notebook\nFROM $BASE_IMAGE\n"
    assert check(BaseImageTag(), chain) == ()
    assert check(BaseImageTag(), "ARG TAG=latest\nFROM ubuntu:${TAG}\n") == ()
    assert [finding.code for finding in check(BaseImageTag(), "FROM quay.io/acme/base-notebook\n")] == ["DF303"]


def test_a_repository_named_after_a_release_line_floats_within_it_on_purpose():
    for image in ("registry.access.redhat.com/ubi9/ubi:latest", "registry.access.redhat.com/ubi8/ubi-minimal", "rhel7"):
        assert check(BaseImageTag(), f"FROM {image}\nRUN echo\n") == (), image
    assert [finding.code for finding in check(BaseImageTag(), "FROM registry.access.redhat.com/ubi/ubi:latest\n")] == [
        "DF303"
    ]


def test_an_archive_removed_in_the_home_folder_it_was_downloaded_to_is_not_left_behind():
    home = (
        "FROM debian:bookworm\n"
        "RUN cd ~ && wget https://example.invalid/go.tar.gz && tar xzf go.tar.gz && rm go.tar.gz\n"
    )
    assert check(DownloadedArchiveLeftBehind(), home) == ()


def test_a_cache_below_a_variable_folder_is_not_removed_by_removing_the_working_folder():
    # `$HOME/...` is rooted at the variable, not below the folder the RUN is in
    composer = (
        "FROM php:8.3\nWORKDIR /opt/app\n"
        'RUN export COMPOSER_HOME="$(mktemp -d)"; composer install; rm -rf "$COMPOSER_HOME"\n'
    )
    assert [finding.code for finding in check(ComposerCacheClean(), composer)] == []
    kept = composer.replace('rm -rf "$COMPOSER_HOME"', "rm -rf /opt/app/vendor/bin")
    assert [finding.code for finding in check(ComposerCacheClean(), kept)] == ["DF112"]
