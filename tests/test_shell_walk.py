"""The shell model's walk reads each node's kind by the grammar's number: the table it keeps agrees with the kind
names the rules are written against."""

from __future__ import annotations

from dockerfix.rewriter import shell


def test_the_walk_knows_every_kind_by_its_name() -> None:
    script = shell.parse_shell(
        "# a comment\nset -e; x=1; (cd /tmp && make) & echo $(( 1 + 2 )) > out; f() { :; }\n"
        "[ -f a ] || cat <<EOF\nb\nEOF"
    )
    assert script.comments == ((0, 11),)
    assert script.has_background and script.has_arithmetic and script.defines_function and script.has_heredoc
    tree = shell._parser().parse(script.source.encode())
    pending = [tree.root_node]
    while pending:
        node = pending.pop()
        role = shell._ROLES[node.kind_id]
        assert role.comment == (node.type == "comment")
        assert role.visited == (node.type in shell._VISITED_NODES)
        assert role.subshell == (node.type in shell._SUBSHELL_NODES)
        assert role.top_level_container == (node.type in shell._TOP_LEVEL_CONTAINERS)
        pending.extend(node.children)
    assert not script.has_error
    assert {command.name_literal: command.in_subshell for command in script.commands}["make"]
