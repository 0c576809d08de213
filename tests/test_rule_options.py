"""Rule options: declared by rules, validated by the configuration loader, handed to rules by the engine on every
surface (pipeline, CLI, language server); DF303's digest-pinning mode is the first option."""

from __future__ import annotations

import dockerfile
import pytest

from dockerfix.rewriter import registry
from dockerfix.rewriter.config import ConfigError, Settings, discover, load
from dockerfix.rewriter.pipeline import run_source
from dockerfix.rewriter.rule import TARGET, Option, Rule, RuleContext
from dockerfix.rewriter.source import Source

DIGEST = "sha256:" + "ab" * 32
PINNED = f'# tag: python:3.12-slim\nFROM python:3.12-slim@{DIGEST}\nCMD ["python"]\n'
CONFIG = f'pin-digests = true\n[digests]\n"python:3.12-slim" = "{DIGEST}"\n'


def fixed(text: str, settings: Settings) -> str | None:
    return run_source(Source(text, "Dockerfile"), settings).new_text


def test_configuration_reaches_the_rule(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.dockerfix]\n" + CONFIG.replace("[digests]", "[tool.dockerfix.digests]")
    )
    settings = discover(tmp_path / "Dockerfile").override(unsafe_fixes=True)
    assert settings.options == {"pin-digests": True, "digests": {"python:3.12-slim": DIGEST}}
    text = 'FROM python:3.12-slim\nCMD ["python"]\n'
    assert fixed(text, settings) == PINNED
    assert fixed(text, Settings(unsafe_fixes=True)) == text  # off by default
    dockerfile.parse_string(PINNED)
    assert fixed(PINNED, settings) == PINNED


def test_flags_override_configured_options(tmp_path):
    (tmp_path / ".dockerfix.toml").write_text(f'[digests]\n"python:3.12-slim" = "{DIGEST}"\n')
    settings = load(tmp_path / ".dockerfix.toml")
    assert settings.options == {"digests": {"python:3.12-slim": DIGEST}}
    overridden = settings.override(options={"pin-digests": True})
    assert overridden.options == {"digests": {"python:3.12-slim": DIGEST}, "pin-digests": True}
    assert settings.override(select=["DF3"]).options == settings.options


@pytest.mark.parametrize(
    "config, message",
    [
        ('pin-digests = "yes"\n', "`pin-digests` must be true or false"),
        ('digests = ["python:3.12"]\n', "`digests` must be a table"),
        (f'[digests]\n"python" = "{DIGEST}"\n', 'key "python" must name an image and its tag'),
        (f'[digests]\n"python:3.12@{DIGEST}" = "{DIGEST}"\n', "must name an image and its tag"),
        ('[digests]\n"python:3.12" = "sha256:abc"\n', 'value of "python:3.12" must be a digest'),
        (
            "pin-digest = true\n",
            "unknown setting(s) pin-digest; known: bot, digests, exclude, extend-exclude, extend-select, "
            "generated-files, ignore, max-file-size, min-gain, per-file-ignores, pin-digests",
        ),
    ],
)
def test_invalid_options_fail_when_loading(tmp_path, config, message):
    (tmp_path / ".dockerfix.toml").write_text(config)
    with pytest.raises(ConfigError) as error:
        load(tmp_path / ".dockerfix.toml")
    assert message in str(error.value) and ".dockerfix.toml" in str(error.value)


def test_rules_share_an_option_only_by_declaring_the_same_one(monkeypatch):
    flag = Option("flag", False, "a flag", bool)

    def rule(code: str, option: Option) -> type[Rule]:
        return type(f"Rule{code}", (Rule,), {"code": code, "options": (option,)})

    monkeypatch.setattr(registry, "all_rules", lambda: (rule("DF901", flag), rule("DF902", flag)))
    assert registry.rule_options.__wrapped__() == {
        "flag": flag,
        **{option.name: option for option in registry.ENGINE_OPTIONS},
    }
    monkeypatch.setattr(
        registry, "all_rules", lambda: (rule("DF901", flag), rule("DF902", Option("flag", True, "a flag", bool)))
    )
    with pytest.raises(registry.RegistryError, match="'flag' of DF902"):
        registry.rule_options.__wrapped__()


def test_a_rule_reads_the_defaults_of_the_options_it_declares_not_those_of_the_rule_it_extends():
    """Each rule class keeps its table of defaults, made when the class is defined: a subclass that declares an
    option again has its own default, and the configured value still wins."""
    base = type("RuleDF901", (Rule,), {"code": "DF901", "options": (Option("flag", False, "a flag", bool),)})
    derived = type("RuleDF902", (base,), {"code": "DF902", "options": (Option("flag", True, "a flag", bool),)})
    assert base().option(RuleContext(), "flag") is False
    assert derived().option(RuleContext(), "flag") is True
    assert derived().option(RuleContext(options={"flag": False}), "flag") is False
    assert derived().option(RuleContext(), TARGET.name) == TARGET.default  # the options every rule may read


@pytest.mark.parametrize(
    "text, expected",
    [
        # every stage, indentation and CRLF kept, an existing `# tag:` comment not repeated
        (
            "FROM python:3.12-slim AS build\r\n  from python:3.12-slim\r\n",
            f"# tag: python:3.12-slim\r\nFROM python:3.12-slim@{DIGEST} AS build\r\n  # tag: python:3.12-slim\r\n"
            f"  from python:3.12-slim@{DIGEST}\r\n",
        ),
        (
            "# tag: python:3.12-slim\nFROM --platform=$BUILDPLATFORM python:3.12-slim\n",
            f"# tag: python:3.12-slim\nFROM --platform=$BUILDPLATFORM python:3.12-slim@{DIGEST}\n",
        ),
        # an untagged image is `:latest`: pinned with its digest when no version tag is known for it
        (
            "# dockerfix: ignore=DF101\nFROM example/tool\n",
            f"# dockerfix: ignore=DF101\n# tag: example/tool:latest\nFROM example/tool:latest@{DIGEST}\n",
        ),
    ],
)
def test_digest_pins(text, expected):
    settings = Settings(
        unsafe_fixes=True,
        options={"pin-digests": True, "digests": {"python:3.12-slim": DIGEST, "example/tool:latest": DIGEST}},
    )
    assert fixed(text, settings) == expected
    dockerfile.parse_string(expected)
    assert fixed(expected, settings) == expected


def test_digest_findings_without_a_fix():
    settings = Settings(
        unsafe_fixes=True, select=("DF303",), options={"pin-digests": True, "digests": {"python:3.12-slim": DIGEST}}
    )
    text = "ARG VARIANT=slim\nFROM python:3.12-${VARIANT} AS app\nFROM node:22-slim\n"
    result = run_source(Source(text, "Dockerfile"), settings)
    assert result.new_text == text
    through_arg, unknown = (finding.message for finding in result.findings)
    assert "`python:3.12-slim` is not pinned by digest" in through_arg and "set through an ARG" in through_arg
    assert 'add `"node:22-slim" = "sha256:..."` to the `digests` table' in unknown


def test_settings_are_what_they_say_whichever_file_said_it(tmp_path):
    """Equal and hashed alike (their options mapping too) when they say the same; unequal when they differ."""
    said = {"select": ("DF1",), "root": tmp_path, "options": {"pin-digests": True}}
    first, second = Settings(**said, path=tmp_path / "a.toml"), Settings(**said, path=tmp_path / "b.toml")
    assert first == second and hash(first) == hash(second)
    assert first != first.override(unsafe_fixes=True) and first != Settings(path=first.path)
