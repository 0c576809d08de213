"""`install_requires` of a setup.py, read from its libcst syntax tree: never by executing it. Kept out of
``dockerfix.rules`` (whose modules are all imported at start) so that libcst is imported only when a build context
has a setup.py."""

from __future__ import annotations

import libcst


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
