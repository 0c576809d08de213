"""A configuration of the wrong shape is a configuration error naming the file and the key, exit 2: never a traceback
and exit 1, which `--check` users read as "fixes pending" (issue 15 item 8)."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import dockerfix, write

from dockerfix.rewriter.config import _BOT_KEYS, _KEYS, ConfigError, load
from dockerfix.rewriter.registry import rule_options

KEYS = sorted(_KEYS | set(rule_options())) + sorted(f"bot.{key}" for key in _BOT_KEYS)


def toml_value(value) -> str:
    """An inline TOML value (the test's own writer: the standard library only reads TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")  # JSON escapes the rest TOML requires
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    return "{" + ", ".join(f"{toml_value(key)} = {toml_value(item)}" for key, item in value.items()) + "}"


scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=12),
    st.datetimes(),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=values)
def test_any_value_for_any_key_loads_or_names_file_and_key(tmp_path, key, value):
    path = tmp_path / ".dockerfix.toml"
    section, _, name = key.rpartition(".")
    path.write_text(
        (f"[{section}]\n" if section else "") + f"{toml_value(name)} = {toml_value(value)}\n", encoding="utf-8"
    )
    try:
        load(path)
    except ConfigError as error:
        named = f"`{key}" in str(error) or (
            key == "bot" and "unknown bot setting(s)" in str(error)
        )  # a table's own keys
        assert str(path) in str(error) and named, str(error)


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("pyproject.toml", 'tool = "x"\n', "`tool` must be a table"),
        ("pyproject.toml", "[tool]\ndockerfix = 5\n", "`tool.dockerfix` must be a table"),
        ("pyproject.toml", "x = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
        (".dockerfix.toml", "bot = [1]\n", "`bot` must be a table"),
        (".dockerfix.toml", 'per-file-ignores = { "a/*" = "DF1" }\n', "`per-file-ignores.a/*`"),
    ],
)
def test_the_command_line_exits_2_with_the_file_and_key(tmp_path, name, text, message):
    write(tmp_path / "Dockerfile", "FROM debian:bookworm\nRUN mkdir /a\nRUN mkdir /b\n")
    write(tmp_path / name, text)
    result = dockerfix("--check", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    error = result.stderr.decode()
    assert error.startswith(f"error: {tmp_path / name}: ") and message in error and "Traceback" not in error
