"""DF103's fix built for real: the original and the fixed Dockerfile both build on a private engine (the debootstrap
base image of tests/test_verify_builds.py), and the fixed image is smaller. On main the fix dropped gcc's
`libc6-dev` (the compile failed: `stdio.h: No such file or directory`) and curl's `ca-certificates`.

Skipped, with the reason, where that engine cannot start.
"""

from __future__ import annotations

import pytest
from test_verify_builds import FIXTURES, engine_client

from dockerfix.rewriter.config import discover
from dockerfix.verify import measured_table

pytestmark = pytest.mark.verify_build


@pytest.fixture(scope="module")
def client():
    yield from engine_client("auto")


def test_the_fixed_install_still_compiles_and_has_the_certificates(client):
    dockerfile = FIXTURES / "apt-recommends-kept" / "Dockerfile"
    table = measured_table(dockerfile, discover(dockerfile), client=client)
    report = table.report
    assert report.equivalent, table.markdown
    assert [fix.code for fix in report.applied] == ["DF103"]
    assert report.fixed.content_bytes < report.original.content_bytes - 10_000_000, table.markdown
