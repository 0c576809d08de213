"""Which names are Dockerfiles: the one expression a context's listing is matched with says what the patterns say
one by one (fnmatch), for names built from the patterns' own pieces and for any text."""

from __future__ import annotations

from fnmatch import fnmatch

from hypothesis import given
from hypothesis import strategies as st

from dockerfix.rewriter.discovery import (
    DOCKERFILE_PATTERNS,
    NOT_DOCKERFILE_SUFFIXES,
    has_dockerfile_name,
    is_dockerfile_name,
    not_dockerfile,
)

PIECES = ["Dockerfile", "dockerfile", "Containerfile", "containerfile", "DOCKERFILE", ".", "-", "prod", "\n", "*"]
PIECES += list(NOT_DOCKERFILE_SUFFIXES)
names = st.one_of(st.lists(st.sampled_from(PIECES), max_size=4).map("".join), st.text(max_size=20))


@given(names)
def test_one_expression_matches_what_the_patterns_match(name):
    assert has_dockerfile_name(name) == any(fnmatch(name, pattern) for pattern in DOCKERFILE_PATTERNS)
    expected_kind = next(
        (kind for suffix, kind in NOT_DOCKERFILE_SUFFIXES.items() if name.lower().endswith(suffix)), None
    )
    assert not_dockerfile(name) == expected_kind
    assert is_dockerfile_name(name) == (has_dockerfile_name(name) and expected_kind is None)


def test_names_of_each_kind():
    assert [is_dockerfile_name(name) for name in ("Dockerfile", "api.Dockerfile", "Dockerfile.prod", "x")] == [
        True,
        True,
        True,
        False,
    ]
    assert not_dockerfile("Dockerfile.py") == "source code" and not_dockerfile("Dockerfile.dockerignore")
