"""Which distribution release a stage's packages come from, as far as its base image's tag says."""

from __future__ import annotations

from dockerfix.rewriter.document import Document, Stage
from dockerfix.rewriter.fixes import Gain, Unknown
from dockerfix.rewriter.stages import base_stages

from .baseimages import identify, resolved_reference
from .gains import apt_lists_gain, debian_releases


def stage_release(document: Document, stage: Stage) -> tuple[str, str] | Unknown:
    """``(distribution, release)`` of the image a stage starts from (following the stages it is built FROM), read
    from an official image's tag (`debian:bookworm-slim`, `python:3.12-slim-bookworm`, `ubuntu:24.04`); Unknown,
    with why, when the tag does not name a release whose data dockerfix ships or the image is not an official one."""
    root = (base_stages(document, stage) or (stage,))[-1]
    reference = resolved_reference(document, root)
    if reference is None:
        return Unknown(f"the base image of stage {root.index + 1} cannot be told (an ARG, scratch or an unknown stage)")
    identified = identify(reference)
    if identified is None:
        return Unknown(f"`{reference.text()}` is not an official image whose distribution dockerfix knows")
    if identified.family == "ubuntu":
        return ("ubuntu", identified.version or reference.tag or "latest")
    if identified.release in debian_releases():
        return ("debian", identified.release)
    if identified.release:
        return Unknown(f"`{reference.text()}` names release {identified.release}, whose data is not shipped")
    return Unknown(f"the tag of `{reference.text()}` does not name its distribution release")


def stage_apt_lists_gain(document: Document, stage: Stage) -> Gain:
    """What removing the apt lists `apt-get update` wrote saves in this stage's image."""
    release = stage_release(document, stage)
    return release if isinstance(release, Unknown) else apt_lists_gain(*release)
