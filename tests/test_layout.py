"""The house's layout: the rules folder reads as the list of rules, and the surfaces (CLI, language server, bot)
share the pipeline without importing each other (the `dockerfix` command only dispatches to the others)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import dockerfix
import dockerfix.rules
from dockerfix.rewriter.registry import _rules_in

PACKAGE = Path(dockerfix.__file__).parent
SURFACES = {"cli": PACKAGE / "cli.py", "lsp": PACKAGE / "lsp", "bot": PACKAGE / "bot"}


def test_every_module_of_the_rules_folder_is_one_rule_named_after_its_code():
    for info in pkgutil.iter_modules(dockerfix.rules.__path__, "dockerfix.rules."):
        module = importlib.import_module(info.name)
        rules = _rules_in(module)
        assert len(rules) == 1, f"{info.name} holds {len(rules)} rules: shared knowledge belongs in dockerfix.knowledge"
        assert info.name.rsplit(".", 1)[1].startswith(rules[0].code.lower() + "_"), info.name


def imported_modules(path: Path) -> set[str]:
    """The dockerfix modules a file imports, absolute names."""
    relative_to = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(relative_to[: -node.level])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("dockerfix")}


def test_no_surface_imports_another():
    for surface, location in SURFACES.items():
        files = sorted(location.rglob("*.py")) if location.is_dir() else [location]
        imported = set().union(*(imported_modules(path) for path in files))
        others = {f"dockerfix.{other}" for other in SURFACES if other != surface}
        crossing = {name for name in imported if any(name == other or name.startswith(other + ".") for other in others)}
        assert not crossing, f"{surface} imports {sorted(crossing)}"


def test_knowledge_and_engine_import_no_surface_nor_rule():
    for folder in ("rewriter", "knowledge"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            forbidden = {
                name
                for name in imported_modules(path)
                if name.split(".")[1:2] and name.split(".")[1] in {"cli", "lsp", "bot", "rules"}
            }
            assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


def test_no_rule_imports_another():
    """What two rules share is knowledge (dockerfix.knowledge), not one rule's module: a rule stays removable."""
    for path in sorted((PACKAGE / "rules").glob("df*.py")):
        others = {
            name
            for name in imported_modules(path)
            if name.startswith("dockerfix.rules.df") and name.split(".")[2] != path.stem
        }
        assert not others, f"{path.name} imports {sorted(others)}"
