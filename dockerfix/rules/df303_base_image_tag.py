"""DF303: a base image named without a tag, or as `latest`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dockerfix.knowledge.baseimages import (
    Reference,
    built_in_context,
    data,
    family_of,
    from_registry,
    image_span,
    resolved_reference,
)
from dockerfix.rewriter.document import Document, Instruction
from dockerfix.rewriter.fixes import Applicability, Edit, Finding, Fix
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example, Option, Rule, RuleContext

_DIGEST = LazyPattern(r"^sha256:[0-9a-f]{64}$")
# A repository path component that names a release line (`ubi9`, `ubi8-minimal`, `rhel7`): its `latest` floats
# within that release on purpose, to receive its updates.
_RELEASE_NAMED = LazyPattern(r"[a-z]\d+(?:$|[-_.])")
# Not a real image's digest: the examples only need the format.
_EXAMPLE_DIGEST = "sha256:" + "0123456789abcdef" * 4


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _digests(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError('must be a table of "image:tag" = "sha256:..."')
    for image, digest in value.items():
        reference = Reference.parse(image)
        if reference.tag is None or reference.digest is not None:
            raise ValueError(f'key "{image}" must name an image and its tag, e.g. "python:3.12-slim"')
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise ValueError(f'value of "{image}" must be a digest: `sha256:` and 64 lower-case hexadecimal digits')
    return dict(value)


class BaseImageTag(Rule):
    """Pin the base image to a version instead of `latest` or no tag.

    What it does
        Flags a FROM whose image (after global ARG defaults, expanded as BuildKit does) has no tag or the tag
        `latest`, when the image certainly comes from a registry: its name has a registry host or a namespace
        (`quay.io/x`, `org/x`), or it is an official image the data file knows. Never a stage, a namespace-less name
        the data file does not know (`FROM bats-jenkins` is usually the project's own image), or a name a file of the
        build context builds (`docker build -t NAME`, `--tag`, a compose service's `build` + `image`, a bake
        target's `tags`). Never a FROM whose image is made of build arguments (`ARG BASE_IMAGE=$REGISTRY/app`,
        `FROM ubuntu:${TAG}`: the build chooses it, often a CI building images in order), nor a repository whose
        name pins a release line (`registry.access.redhat.com/ubi9/ubi`, `rhel7`), whose `latest` is that line's
        newest update. For official images
        that dockerfix's data file knows (python, node, golang, ruby, php, eclipse-temurin, openjdk, maven, gradle,
        rust, debian, ubuntu) the fix writes the family's pinned tag from the data file, the same variant that
        `latest` named when the data was written. Images pinned by digest are left alone.

        With `pin-digests = true` (or `--pin-digests`) it also flags every base image not pinned by digest, in every
        stage. When the `digests` table of the configuration knows the image's `image:tag` (as the FROM names it
        after ARG defaults; an untagged image is `image:latest`), the fix writes `FROM image:tag@sha256:...`, keeping
        the tag readable, and a `# tag: image:tag` comment on its own line above the FROM (a Dockerfile comment is
        always a whole line). dockerfix never asks a registry: fill the table with the digest of the image index
        (every platform), for example from `docker buildx imagetools inspect python:3.12-slim` in CI:

            pin-digests = true
            [digests]
            "python:3.12-slim" = "sha256:..."

    Why
        `latest` moves to each new release: the same Dockerfile builds a different image next month, a cached build
        and a fresh one differ, and a major upgrade arrives unannounced. A version in the tag makes the change a
        visible edit.

    Example
        FROM python
        becomes
        FROM python:3.13.1-bookworm

    Fix safety
        Unsafe: the pinned tag is the data file's (dated) idea of the current release, which may be older or newer
        than what `latest` pulls today. Without a fix for other images (the version to pin cannot be known here) and
        when the image is set through an ARG. Digest pins are unsafe too: the digest may be older than the tag's
        current image, and a pinned image no longer receives the security updates its tag gets; no fix when the
        digest is unknown or the image is set through an ARG (a digest would silently win over `--build-arg`).
    """

    code = "DF303"
    opt_in = True  # harmful or false positive in the blind review of sample A (docs/expert-review.md)
    selected_by_options = ("pin-digests",)
    name = "base-image-tag"
    summary = "A base image without a tag or with `latest` changes under the Dockerfile."
    hadolint = ("DL3006", "DL3007")
    valid = (
        "FROM python:3.12-slim\n",
        "FROM scratch\nCOPY app /\n",
        "FROM golang:1.22 AS build\nFROM build\n",
        "FROM python@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        "ARG BASE\nFROM ${BASE}\n",
        "FROM bats-jenkins\nRUN bats /tests\n",
        "FROM golang:1.22 AS build\nFROM BUILD\n",
        "ARG TAG=latest\nFROM ubuntu:${TAG}\n",
        'ARG TAG="latest"\nFROM node:${TAG}\n',
        "ARG REGISTRY=quay.io\nARG OWNER=acme\nARG BASE_IMAGE=$REGISTRY/$OWNER/base\nFROM $BASE_IMAGE\n",
        "FROM registry.access.redhat.com/ubi9/ubi:latest\n",
        "FROM registry.access.redhat.com/ubi8/ubi-minimal\n",
        "FROM registry.access.redhat.com/rhel7\n",
    )
    invalid = (
        Example('FROM python\nCMD ["python"]\n', 'FROM python:3.13.1-bookworm\nCMD ["python"]\n', unsafe=True),
        Example("FROM node:latest AS web\n", "FROM node:22.12.0-bookworm AS web\n", unsafe=True),
        Example("FROM example/tool\n", None),
        Example("FROM nginx\n", None),
        Example("FROM quay.io/example/tool:latest\n", None),
        Example(
            "FROM python:3.12-slim AS app\n",
            f"# tag: python:3.12-slim\nFROM python:3.12-slim@{_EXAMPLE_DIGEST} AS app\n",
            unsafe=True,
            options={"pin-digests": True, "digests": {"python:3.12-slim": _EXAMPLE_DIGEST}},
        ),
        Example("FROM golang:1.22 AS build\nFROM scratch\n", None, options={"pin-digests": True}),
    )
    options = (
        Option(
            "pin-digests", False, "also flag base images not pinned by digest, pinning those in `digests`", _boolean
        ),
        Option("digests", {}, '"image:tag" = "sha256:..." for `pin-digests`, from the registry (e.g. CI)', _digests),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        pin_digests = self.option(context, "pin-digests")
        digests = self.option(context, "digests")
        for stage in document.stages:
            reference = resolved_reference(document, stage)
            if reference is None or reference.digest or not from_registry(reference):
                continue
            if reference.tag not in (None, "latest") and not pin_digests:
                continue
            if built_in_context(reference.repository, context.build_context):
                continue
            instruction = stage.from_instruction
            span = image_span(document, instruction)
            through_arg = span is None or "$" in document.text[span[0] : span[1]]
            if (
                reference.tag in (None, "latest")
                and span is not None
                and not through_arg
                and not names_release(reference)
            ):
                yield self._tag_finding(document, instruction, reference, span, digests if pin_digests else {})
            elif pin_digests:
                yield self._digest_finding(document, instruction, reference, span, through_arg, digests)

    def _tag_finding(
        self,
        document: Document,
        instruction: Instruction,
        reference: Reference,
        span: tuple[int, int],
        digests: Mapping[str, str],
    ) -> Finding:
        """The tag finding of a FROM that names its image literally (``span``)."""
        described = "has no tag, which means `latest`" if reference.tag is None else "uses `latest`"
        message = f"`{reference.text()}` {described}: the image changes with every release"
        family = family_of(reference)
        if family is None:
            # No version to pin; a known digest still freezes what `latest` names today.
            known = _tagged(reference) in digests
            pin = self._digest_pin(document, instruction, reference, span, digests) if known else None
            return self.finding(f"{message}; pin a version tag", instruction.start, instruction.header_end, pin)
        pinned = f"{reference.repository}:{data()['families'][family]['pinned']}"
        message += f"; `{pinned}` was current in {data()['sources']['knowledge_date']}"
        fix = self.fix(f"Pin {pinned}", [Edit(span[0], span[1], pinned)], Applicability.UNSAFE)
        return self.finding(message, instruction.start, instruction.header_end, fix)

    def _digest_finding(
        self,
        document: Document,
        instruction: Instruction,
        reference: Reference,
        span: tuple[int, int] | None,
        through_arg: bool,
        digests: Mapping[str, str],
    ) -> Finding:
        image = _tagged(reference)
        message = f"`{image}` is not pinned by digest: the tag can be moved to another image"
        if image not in digests:
            message += f'; add `"{image}" = "sha256:..."` to the `digests` table of the configuration'
            return self.finding(message, instruction.start, instruction.header_end)
        if through_arg or span is None:  # no span is read as through an ARG
            message += (
                " (not fixed automatically: the image is set through an ARG, and a digest would win over --build-arg)"
            )
            return self.finding(message, instruction.start, instruction.header_end)
        return self.finding(
            message,
            instruction.start,
            instruction.header_end,
            self._digest_pin(document, instruction, reference, span, digests),
        )

    def _digest_pin(
        self,
        document: Document,
        instruction: Instruction,
        reference: Reference,
        span: tuple[int, int],
        digests: Mapping[str, str],
    ) -> Fix:
        """``image:tag@digest`` in place of the image, and a `# tag:` comment line above the FROM (unless there)."""
        image = _tagged(reference)
        edits = [Edit(span[0], span[1], f"{image}@{digests[image]}")]
        comment = f"tag: {image}"
        if not any(existing.text.strip() == comment for existing in instruction.leading_comments):
            line_start = instruction.span[0]
            indentation = document.text[line_start : instruction.start]
            edits.insert(0, Edit.insert(line_start, f"{indentation}# {comment}{document.source.newline}"))
        return self.fix(f"Pin {image} to {digests[image]}", edits, Applicability.UNSAFE)


def names_release(reference: Reference) -> bool:
    """Whether a component of the repository path names a release line (`ubi9/ubi`, `rhel7`)."""
    return any(_RELEASE_NAMED.search(part) for part in reference.repository.lower().split("/"))


def _tagged(reference: Reference) -> str:
    """The `image:tag` a digests table names the reference by (an untagged image is `:latest`)."""
    return f"{reference.repository}:{reference.tag or 'latest'}"
