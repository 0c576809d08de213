"""DF303: a base image named without a tag, or as `latest`."""

from __future__ import annotations

from typing import Iterator

from dockerfix.rewriter.document import Document
from dockerfix.rewriter.fixes import Applicability, Edit, Finding
from dockerfix.rewriter.rule import Example, Rule, RuleContext

from .baseimages import data, family_of, image_span, resolved_reference


class BaseImageTag(Rule):
    """Pin the base image to a version instead of `latest` or no tag.

    What it does
        Flags a FROM whose image (after global ARG defaults) has no tag or the tag `latest`. For official images
        that dockerfix's data file knows (python, node, golang, ruby, php, eclipse-temurin, openjdk, maven, gradle,
        rust, debian, ubuntu) the fix writes the family's pinned tag from the data file, the same variant that
        `latest` named when the data was written. Images pinned by digest are left alone.

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
        when the image is set through an ARG.
    """

    code = "DF303"
    name = "base-image-tag"
    summary = "A base image without a tag or with `latest` changes under the Dockerfile."
    hadolint = ("DL3006", "DL3007")
    valid = (
        "FROM python:3.12-slim\n",
        "FROM scratch\nCOPY app /\n",
        "FROM golang:1.22 AS build\nFROM build\n",
        "FROM python@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        "ARG BASE\nFROM ${BASE}\n",
    )
    invalid = (
        Example("FROM python\nCMD [\"python\"]\n", "FROM python:3.13.1-bookworm\nCMD [\"python\"]\n", unsafe=True),
        Example("FROM node:latest AS web\n", "FROM node:22.12.0-bookworm AS web\n", unsafe=True),
        Example("FROM example/tool\n", None),
        Example("ARG TAG=latest\nFROM ubuntu:${TAG}\n", None),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in document.stages:
            reference = resolved_reference(document, stage)
            if reference is None or reference.digest or reference.tag not in (None, "latest"):
                continue
            instruction = stage.from_instruction
            described = "has no tag, which means `latest`" if reference.tag is None else "uses `latest`"
            message = f"`{reference.text()}` {described}: the image changes with every release"
            family = family_of(reference)
            span = image_span(document, instruction)
            if family is None:
                yield self.finding(f"{message}; pin a version tag", instruction.start, instruction.header_end)
                continue
            pinned = f"{reference.repository}:{data()['families'][family]['pinned']}"
            message += f"; `{pinned}` was current in {data()['sources']['size_date']}"
            if span is None or "$" in document.text[span[0]:span[1]]:
                yield self.finding(f"{message} (not fixed automatically: the image is set through an ARG)", instruction.start, instruction.header_end)
                continue
            fix = self.fix(f"Pin {pinned}", [Edit(span[0], span[1], pinned)], Applicability.UNSAFE)
            yield self.finding(message, instruction.start, instruction.header_end, fix)
