"""verify with real builds: a private dockerd (Debian's docker.io, as root) and a debootstrap base image, plus the
stand-ins for python:3.11 and python:3.11-slim that DF304's Python split names (``PYTHON_STAND_INS``), built once per
daemon.

Skipped, with the reason in the summary (`-ra`), where that engine cannot start. One such daemon runs per machine at a
time (xdist workers take turns); each docker command is bounded by ``COMMAND_SECONDS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockerfix.rewriter.config import discover
from dockerfix.rewriter.pipeline import context_for, read_source, run_source
from dockerfix.verify import current_engine, measured_table
from dockerfix.verify.engine import BuildFailed, DockerClient
from dockerfix.verify.measure import rejects_heredocs
from dockerfix.verify.rebuild_cost import dependency_rebuild
from dockerfix.verify.sandbox import PrivateDaemon, SandboxUnavailable, base_tarball, build_python_images

FIXTURES = Path(__file__).parent / "verify_fixtures"
COMMAND_SECONDS = 300

pytestmark = pytest.mark.verify_build


def started_with_base_image(engine: str) -> PrivateDaemon:
    """A private engine with the debootstrap base image loaded; the test is skipped, with the reason, without one."""
    try:
        daemon = PrivateDaemon.start(engine=engine)
    except SandboxUnavailable as reason:
        pytest.skip(f"no private Docker engine ({engine}): {reason}")
    try:
        daemon.load_base_image(base_tarball())
    except SandboxUnavailable as reason:
        daemon.stop()
        pytest.skip(f"no base image: {reason}")
    return daemon


def engine_client(engine: str) -> Iterator[DockerClient]:
    """A module fixture's body: the client of a private ``engine`` with the base image loaded (commands bounded by
    ``COMMAND_SECONDS``), stopped after the module's tests."""
    daemon = started_with_base_image(engine)
    try:
        yield dataclasses.replace(daemon.client, timeout=COMMAND_SECONDS)
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def daemon():
    """The current engine when it is prepared (``.ci/run`` prepares it), else the host's 20.10."""
    daemon = started_with_base_image("auto")
    try:
        build_python_images(dataclasses.replace(daemon.client, timeout=COMMAND_SECONDS))
    except BaseException:
        daemon.stop()
        raise
    yield daemon
    daemon.stop()
    if daemon.root is not None:  # the host is left as it was: no mount of the engine's root, no bridge
        assert str(daemon.root) not in Path("/proc/self/mountinfo").read_text()
        assert not Path(f"/sys/class/net/{daemon.made_bridge}").exists()


@pytest.fixture(scope="module")
def client(daemon):
    return dataclasses.replace(daemon.client, timeout=COMMAND_SECONDS)


def _measure(name: str, client):
    dockerfile = FIXTURES / name / "Dockerfile"
    table = measured_table(dockerfile, discover(dockerfile), client=client)
    assert table.report.equivalent, table.markdown
    assert table.report.engine == client.check() and f"on Docker {table.report.engine}" in table.markdown
    assert not client.run("image", "ls", "--quiet", "--filter", "reference=dockerfix-verify-*").stdout.strip()
    return table.report


def test_three_apt_runs_merged_build_the_same_files_in_fewer_smaller_layers(client):
    report = _measure("apt-three-runs", client)
    assert not report.differences and not report.config_differences
    assert len(report.fixed.layers) == len(report.original.layers) - 2
    assert report.fixed.content_bytes < report.original.content_bytes - 50_000_000


def test_a_later_layer_cleanup_moved_into_the_creating_run_frees_the_package_lists(client):
    report = _measure("later-layer-cleanup", client)
    assert not report.undeclared
    assert len(report.fixed.layers) == len(report.original.layers) - 1
    assert report.fixed.content_bytes < report.original.content_bytes - 10_000_000


def test_copy_then_chown_moved_into_the_copy_builds_the_same_owners_and_modes_in_fewer_layers(client):
    report = _measure("copy-then-chown", client)
    assert not report.differences and not report.config_differences
    assert len(report.fixed.layers) == len(report.original.layers) - 2
    assert report.fixed.content_bytes < report.original.content_bytes


def test_manifests_first_rebuilds_only_the_source_copy_after_a_source_edit(client):
    report = _measure("manifests-first", client)
    assert report.touched == "app.py"
    assert len(report.original.rebuild.steps_rerun) == 2
    assert len(report.fixed.rebuild.steps_rerun) == 1
    assert report.fixed.rebuild.changed_bytes * 10 < report.original.rebuild.changed_bytes


def test_stable_steps_above_the_source_copy_leave_only_the_copy_to_rerun(client):
    """DF203 moves the apt install and the useradd above `COPY . /app`: the same files, and a source edit re-runs
    the COPY alone instead of the COPY and both steps."""
    report = _measure("stable-step-first", client)
    assert not report.differences and not report.config_differences
    assert report.touched == "app.py"
    assert (len(report.original.rebuild.steps_rerun), len(report.fixed.rebuild.steps_rerun)) == (3, 1)
    assert report.fixed.rebuild.changed_bytes * 1000 < report.original.rebuild.changed_bytes


def test_multi_stage_build_final_image_has_fewer_smaller_layers(client):
    report = _measure("multi-stage", client)
    assert not report.differences
    assert len(report.fixed.layers) < len(report.original.layers)
    assert report.fixed.content_bytes < report.original.content_bytes


def test_a_heredoc_dockerfile_is_verified_like_the_others(client):
    engine = client.check()
    if rejects_heredocs(engine):
        pytest.skip(
            f"Docker {engine} rejects heredocs; the current engine is not prepared ({current_engine.root_folder()})"
        )
    report = _measure("heredoc", client)
    assert [fix.code for fix in report.applied] == ["DF101"]
    assert not report.differences and not report.config_differences
    assert len(report.fixed.layers) == len(report.original.layers) - 2
    assert report.fixed.content_bytes < report.original.content_bytes - 10_000_000


def test_an_apt_cache_mount_makes_the_rebuild_after_a_dependency_change_download_less(daemon, client):
    if daemon.root is None:
        pytest.skip("bytes downloaded are counted on the current engine's own bridge; it is not prepared")
    folder = FIXTURES / "apt-cache-mount"
    manifest = (folder / "packages.txt").read_text()
    before, after = (
        dependency_rebuild(
            client, folder / name, folder, "packages.txt", manifest + "jq\n", current_engine.bridge_sent_bytes
        )
        for name in ("before.Dockerfile", "after.Dockerfile")
    )
    # Without the mounts the changed list re-downloads the package lists and every package; with them, the lists
    # are only revalidated and only the new package and its dependencies are fetched.
    assert all(any(" RUN " in step for step in rebuild.steps_rerun) for rebuild in (before, after))
    assert after.downloaded_bytes * 3 < before.downloaded_bytes
    assert after.downloaded_bytes > 100_000  # jq and its libraries were downloaded: the counter sees the build
    # The cache stays out of the image: the lists and the .deb files live in the mounts.
    assert abs(after.image_bytes - before.image_bytes) < 1_000_000


def _run(client, name: str, text: str, context: Path, work: Path) -> str:
    """Build ``text`` (cached by the measurement just made) and run the image's own command without a network."""
    dockerfile = work / f"{name}.Dockerfile"
    dockerfile.write_text(text)
    tag = f"dockerfix-test-split:{name}"
    try:
        client.build(dockerfile, context, tag, name)
        return client.run("run", "--rm", "--network", "none", tag).stdout.decode()
    finally:
        client.remove_images(tag)


def test_the_python_multi_stage_split_builds_runs_the_same_and_leaves_the_toolchain_out(client, tmp_path: Path):
    report = _measure("python-split", client)
    assert [fix.code for fix in report.applied] == ["DF304"]
    differences = {difference.path: difference for difference in report.differences}
    assert {difference.declared_by for difference in report.differences} == {"DF304"}
    assert [(d.field, d.declared_by) for d in report.config_differences] == [("Env PATH", "DF304")]
    assert report.config_differences[0].after == "/opt/venv/bin:" + report.config_differences[0].before
    # The toolchain is gone: the compiler the Dockerfile installed, the system pip, the headers.
    for tool in ("/usr/bin/gcc", "/usr/bin/gcc-12", "/usr/bin/pip", "/usr/include/python3.11/Python.h"):
        assert differences[tool].change == "removed", tool
    # The application is there, byte for byte (the original COPY put it in both), its dependency moved to the venv.
    assert "/app/app.py" not in differences and "/app/requirements.txt" not in differences
    assert differences["/usr/local/lib/python3.11/dist-packages/six.py"].change == "removed"
    assert differences["/opt/venv/lib/python3.11/site-packages/six.py"].change == "added"
    assert len(report.fixed.layers) < len(report.original.layers)
    assert report.fixed.content_bytes < report.original.content_bytes - 150_000_000
    assert report.fixed.gzip_bytes < report.original.gzip_bytes - 50_000_000
    dockerfile = FIXTURES / "python-split" / "Dockerfile"
    source = read_source(dockerfile)
    fixed = run_source(source, discover(dockerfile), context_for(dockerfile.parent, dockerfile), dockerfile).new_text
    assert fixed is not None
    outputs = [
        _run(client, name, text, dockerfile.parent, tmp_path)
        for name, text in (("original", source.text), ("fixed", fixed))
    ]
    assert outputs == ["hello from six\n"] * 2


def test_a_failing_build_names_its_step_and_leaves_no_image(client, tmp_path: Path):
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y no-such-package-here\n"
    )
    with pytest.raises(BuildFailed) as failure:
        measured_table(tmp_path / "Dockerfile", discover(tmp_path), client=client)
    assert failure.value.step == "[3/3] RUN apt-get install -y no-such-package-here"
    assert "Unable to locate package no-such-package-here" in failure.value.log_tail
    assert not client.run("image", "ls", "--quiet", "--filter", "reference=dockerfix-verify-*").stdout.strip()


def test_the_bot_puts_the_measured_table_in_its_body_and_a_failing_build_in_one_line(
    client, tmp_path: Path, monkeypatch, capsys
):
    from bot_fake_github import Remote

    from dockerfix.bot.command import main

    # merges that save only a layer, asked for by the repository (DF120): they build offline, unlike a download
    asks_for_merges = {"pyproject.toml": '[tool.dockerfix]\nextend-select = ["DF120"]\n'}
    mergeable = "FROM debian:bookworm\nRUN mkdir -p /app\nRUN chmod 755 /app\n"
    failing = "FROM debian:bookworm\nRUN mkdir -p /app\nRUN chmod 755 /missing\n"
    remote = Remote(tmp_path, {"Dockerfile": mergeable, "broken/Dockerfile": failing, **asks_for_merges})
    monkeypatch.setenv("DOCKER_HOST", client.host)
    monkeypatch.setenv("DOCKERFIX_DOCKER", client.program)
    assert main(["--path", str(remote.human), "--dry-run", "--verify"]) == 0
    out = capsys.readouterr().out
    measured = out.split("### Measured\n\n", 1)[1].split("<details>", 1)[0]
    assert "`Dockerfile`:\n\n| | original | fixed |" in measured
    assert "| layers | 3 | 2 |" in measured and "equivalent: same files, same config" in measured
    assert (
        "`broken/Dockerfile`: not measured: the original Dockerfile failed to build at `[3/3] RUN chmod 755 /missing`."
        in measured
    )
    # the end of its log under the line: what says why it failed
    log = out.split("`broken/Dockerfile`: not measured", 1)[1].split("</details>", 1)[0]
    assert "<summary>The end of its build log</summary>" in log and "/missing" in log.split("```text", 1)[1]
    assert not client.run("image", "ls", "--quiet", "--filter", "reference=dockerfix-verify-*").stdout.strip()


def test_a_dockerignore_keeps_bytecode_caches_out_of_the_context_sent_and_the_image(client):
    report = _measure("dockerignore", client)
    assert report.fixed.context_bytes < report.original.context_bytes - 50_000
    removed = {difference.path for difference in report.differences if difference.change == "removed"}
    assert "/app/app/__pycache__/inventory.cpython-311.pyc" in removed and "/app/app/inventory.py" not in removed
    assert all(difference.declared_by == "DF204" for difference in report.differences)
    assert len(report.fixed.layers) == len(report.original.layers)


@pytest.fixture(scope="module")
def packaged_client():
    """The host's Debian Docker 20.10, the engine verify falls back to when the current one is not prepared."""
    yield from engine_client("packaged")


def test_the_packaged_engine_still_verifies_and_names_itself(packaged_client):
    report = _measure("copy-then-chown", packaged_client)
    assert report.engine.startswith("20.10.")
    assert not report.differences and len(report.fixed.layers) == len(report.original.layers) - 2


def test_on_the_packaged_engine_a_heredoc_dockerfile_fails_saying_why(packaged_client):
    dockerfile = FIXTURES / "heredoc" / "Dockerfile"
    with pytest.raises(BuildFailed) as failure:
        measured_table(dockerfile, discover(dockerfile), client=packaged_client)
    assert "rejects" in failure.value.log_tail and "20.10." in failure.value.log_tail


def test_the_bot_measures_a_new_dockerignore_against_the_context_as_it_was(client, tmp_path: Path, monkeypatch, capsys):
    """The checkout holds the fixed files when the bot measures: the original must be built, and fixed again, from
    the context as it was, or DF204's .dockerignore would be in both builds and nothing would be left to compare."""
    from bot_fake_github import Remote

    from dockerfix.bot.command import main

    remote = Remote(
        tmp_path,
        {
            "svc/Dockerfile": 'FROM debian:bookworm\nWORKDIR /app\nCOPY . .\nCMD ["cat", "/app/main.sh"]\n',
            "svc/main.sh": "echo hi\n",
            "svc/.env": "API_TOKEN=not-for-images\n",
        },
    )
    monkeypatch.setenv("DOCKER_HOST", client.host)
    monkeypatch.setenv("DOCKERFIX_DOCKER", client.program)
    assert main(["--path", str(remote.human), "--dry-run", "--verify", "--unsafe-fixes", "--select", "DF204"]) == 0
    measured = capsys.readouterr().out.split("### Measured\n\n", 1)[1].split("<details>", 1)[0]
    assert "`svc/Dockerfile`:\n\n| | original | fixed |" in measured, measured
    assert "| build context sent |" in measured and "(DF204)" in measured and "NOT equivalent" not in measured


def test_what_two_builds_of_the_original_disagree_on_is_not_taken_for_a_change_by_the_fixes(client, tmp_path: Path):
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm\n"
        "RUN head -c 32 /dev/urandom > /build-id\n"
        "RUN apt-get update\n"
        "RUN apt-get install -y --no-install-recommends jq\n"
    )
    settings = discover(tmp_path / "Dockerfile").override(unsafe_fixes=True)
    report = measured_table(tmp_path / "Dockerfile", settings, client=client).report
    assert report.applied
    assert report.equivalent, [difference.path for difference in report.undeclared]
    assert "/build-id" in report.unreproducible


def test_verify_builds_its_own_stand_ins_even_where_another_image_has_their_tag(client):
    client.run("tag", "debian:bookworm", "python:3.11-slim")  # a benchmark's stand-in of the same name, say
    build_python_images(client)
    command = client.run("image", "inspect", "--format", "{{json .Config.Cmd}}", "python:3.11-slim").stdout.decode()
    assert command.strip() == '["python3"]'


def test_a_base_image_swap_declares_what_the_two_bases_differ_in_and_nothing_else(client, tmp_path: Path):
    (tmp_path / "app.py").write_text('print("hello")\n')
    (tmp_path / "Dockerfile").write_text('FROM python:3.11\nCOPY app.py /app/app.py\nCMD ["python", "/app/app.py"]\n')
    settings = discover(tmp_path / "Dockerfile").override(unsafe_fixes=True, extend_select=["DF301"])  # DF301 is opt-in
    report = measured_table(tmp_path / "Dockerfile", settings, client=client).report
    assert [fix.code for fix in report.applied] == ["DF301"]
    swapped = [
        difference
        for difference in report.differences
        if difference.declared_by == "base image python:3.11 -> python:3.11-slim"
    ]
    assert len(swapped) > 100 and any(difference.path.startswith("/usr/include/") for difference in swapped)
    assert report.equivalent, [difference.path for difference in report.undeclared][:20]
