"""`install_requires` of a setup.py, read from its libcst syntax tree: never by executing it.

Run in a child process (``main``: text on stdin, a JSON list or null on stdout) by ``dockerfix.knowledge.dependencies``:
libcst's native parser crashes the process on some inputs (1,500 nested brackets overflow its stack) and takes
seconds and gigabytes on others, and a setup.py comes from a build context, so it is parsed in a process of its own
with bounded memory and time (docs/decisions.md, "Hostile build contexts")."""

from __future__ import annotations

import json
import resource
import sys

import libcst

# A 1 MB setup.py parses within about 300 MB; the bound stops the inputs that would take gigabytes.
MEMORY_LIMIT_BYTES = 1 << 30


class _InstallRequires(libcst.CSTVisitor):
    """Collects the string literals of `install_requires=[...]` in a `setup(...)` call, following a module-level
    name bound to a list literal."""

    def __init__(self) -> None:
        self.lists: dict[str, libcst.BaseExpression] = {}
        self.requirements: list[str] = []

    def visit_Assign(self, node: libcst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, libcst.Name):
                self.lists[target.target.value] = node.value

    def visit_Call(self, node: libcst.Call) -> None:
        function = node.func
        name = function.attr.value if isinstance(function, libcst.Attribute) else getattr(function, "value", None)
        if name != "setup":
            return
        for argument in node.args:
            if argument.keyword is not None and argument.keyword.value == "install_requires":
                value = argument.value
                if isinstance(value, libcst.Name):
                    value = self.lists.get(value.value, value)
                self.requirements.extend(_strings(value))


def _strings(node: libcst.BaseExpression) -> list[str]:
    if isinstance(node, (libcst.List, libcst.Tuple, libcst.Set)):
        found = []
        for element in node.elements:
            if isinstance(element.value, libcst.SimpleString):
                found.append(element.value.evaluated_value)
        return [value for value in found if isinstance(value, str)]
    return []


def install_requires(text: str) -> list[str] | None:
    """The string literals of `install_requires`; None when the file does not parse."""
    try:
        module = libcst.parse_module(text)
    except libcst.ParserSyntaxError:
        return None
    visitor = _InstallRequires()
    module.visit(visitor)
    return visitor.requirements


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    text = sys.stdin.buffer.read().decode("utf-8")
    try:
        requirements = install_requires(text)
    except (RecursionError, MemoryError):
        requirements = None
    sys.stdout.write(json.dumps(requirements))


if __name__ == "__main__":
    main()
