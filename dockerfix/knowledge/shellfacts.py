"""What rules know about shell commands: which builtins change the shell's state, and what package managers,
downloads and cleanups look like. Shared by the layer rules so that none of them keeps its own copy."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING

from msgspec import Struct

if TYPE_CHECKING:
    from dockerfix.rewriter.shell import SimpleCommand

# POSIX special built-ins (XCU 2.14): variable assignments in front of one persist in the shell (`PATH=/x times`
# leaves PATH set), and most of them change its state themselves.
SPECIAL_BUILTINS = frozenset(
    {
        "break",
        ":",
        "continue",
        ".",
        "eval",
        "exec",
        "exit",
        "export",
        "readonly",
        "return",
        "set",
        "shift",
        "times",
        "trap",
        "unset",
    }
)

# Builtins whose effect outlives the command: after `cd`, `export`, ... a later command in the same shell sees it,
# a later RUN (a fresh shell) does not. `command`/`builtin`/`eval` may run any of them.
STATE_CHANGING_BUILTINS = SPECIAL_BUILTINS | frozenset(
    {
        "cd",
        "pushd",
        "popd",
        "shopt",
        "umask",
        "ulimit",
        "alias",
        "unalias",
        "source",
        "declare",
        "typeset",
        "local",
        "hash",
        "enable",
        "command",
        "builtin",
        "read",
        "getopts",
        "let",
        "mapfile",
        "readarray",
        "wait",
        "fg",
        "bg",
        "disown",
    }
)

# Reserved words and keywords that run the command after them in the current shell: `time cd /tmp` changes the
# directory under bash (where `time` is a keyword), `! cd /tmp` in any POSIX shell; `noglob`, `nocorrect` and `-` are
# zsh's precommand modifiers.
COMMAND_PREFIXES = frozenset({"time", "!", "noglob", "nocorrect", "-"})

# Commands that finish in moments and rarely change: merging them costs the build cache nothing.
# Programs that run shell scripts: what they run is not known from the command line
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"})
LIGHT_COMMANDS = frozenset(
    {
        "mkdir",
        "ln",
        "chmod",
        "chown",
        "chgrp",
        "cp",
        "mv",
        "rm",
        "touch",
        "echo",
        "printf",
        "true",
        "false",
        "test",
        "[",
        "cat",
        "tee",
        "sed",
        "useradd",
        "adduser",
        "groupadd",
        "addgroup",
        "usermod",
        "userdel",
        "ldconfig",
        "update-alternatives",
        "locale-gen",
        "ls",
        "cd",
        "export",
        "set",
        "umask",
        "rmdir",
        "install",
        "id",
        "whoami",
        "find",
        "xargs",
        "sh",
        "bash",
        "env",
        "sleep",
        "update-ca-certificates",
        "localedef",
        "dpkg-reconfigure",
    }
)


# Programs that compile or drive a compiler (`./configure` is read as `configure`).
COMPILING_PROGRAMS = frozenset(
    {
        "gcc",
        "cc",
        "g++",
        "c++",
        "clang",
        "clang++",
        "make",
        "cmake",
        "ninja",
        "meson",
        "configure",
        "phpize",
        "docker-php-ext-install",
        "node-gyp",
        "scons",
    }
)
# Installers that compile native extensions from source when no prebuilt one fits, by their verbs ("" = no verb).
SOURCE_BUILDING_INSTALLS = {
    "pip": {"install", "wheel"},
    "pip3": {"install", "wheel"},
    "pecl": {"install"},
    "gem": {"install"},
    "bundle": {"install"},
    "npm": {"install", "ci", "i", "rebuild"},
    "yarn": {"", "install"},
    "cargo": {"build", "install"},
    "go": {"build", "install"},
}


def compiles(name: str | None, arguments: Sequence[str | None]) -> bool:
    """Whether a command compiles code, or may (an installer that builds native extensions from source)."""
    if name is None:
        return False
    name, arguments = python_module_command(name.rsplit("/", 1)[-1], arguments)
    if name in COMPILING_PROGRAMS:
        return True
    if name.startswith("python") and tuple(arguments[:1]) == ("setup.py",):
        return True
    verbs = SOURCE_BUILDING_INSTALLS.get(name)
    return verbs is not None and (subcommand(arguments) or "") in verbs


class Role(enum.Enum):
    UPDATE = "update"  # refreshes a package index (apt-get update, apk update, yum makecache)
    INSTALL = "install"  # installs packages
    CLEANUP = "cleanup"  # removes caches, lists or temporary files
    LIGHT = "light"  # quick housekeeping
    OTHER = "other"  # builds, downloads, anything else


class PackageManager(Struct, frozen=True):
    name: str
    commands: frozenset[str]
    update: frozenset[str]
    install: frozenset[str]
    clean: frozenset[str]


PACKAGE_MANAGERS = (
    PackageManager(
        "apt",
        frozenset({"apt-get", "apt", "aptitude"}),
        frozenset({"update"}),
        frozenset({"install", "upgrade", "dist-upgrade", "build-dep"}),
        frozenset({"clean", "autoclean", "autoremove", "purge", "remove"}),
    ),
    PackageManager(
        "apk", frozenset({"apk"}), frozenset({"update"}), frozenset({"add", "upgrade"}), frozenset({"cache", "del"})
    ),
    PackageManager(
        "yum",
        frozenset({"yum", "dnf", "microdnf", "tdnf"}),
        frozenset({"makecache", "check-update"}),
        frozenset({"install", "update", "upgrade", "groupinstall", "reinstall", "builddep"}),
        frozenset({"clean", "remove", "erase", "autoremove"}),
    ),
    PackageManager(
        "zypper",
        frozenset({"zypper"}),
        frozenset({"refresh", "ref"}),
        frozenset({"install", "in", "update", "up", "dist-upgrade", "dup"}),
        frozenset({"clean", "cc", "remove", "rm"}),
    ),
    PackageManager(
        "pip",
        frozenset({"pip", "pip3", "pipx", "uv"}),
        frozenset(),
        frozenset({"install", "sync"}),
        frozenset({"cache"}),
    ),
    PackageManager(
        "npm",
        frozenset({"npm", "yarn", "pnpm"}),
        frozenset(),
        frozenset({"install", "ci", "add", "i"}),
        frozenset({"cache"}),
    ),
    PackageManager(
        "gem",
        frozenset({"gem", "bundle", "bundler"}),
        frozenset(),
        frozenset({"install"}),
        frozenset({"cleanup", "clean"}),
    ),
    PackageManager(
        "composer",
        frozenset({"composer"}),
        frozenset(),
        frozenset({"install", "require", "update"}),
        frozenset({"clear-cache", "clearcache"}),
    ),
    PackageManager(
        "conda",
        frozenset({"conda", "mamba", "micromamba"}),
        frozenset(),
        frozenset({"install", "create", "update"}),
        frozenset({"clean"}),
    ),
    PackageManager("go", frozenset({"go"}), frozenset(), frozenset({"install", "get"}), frozenset({"clean"})),
)
_MANAGER_BY_COMMAND = {command: manager for manager in PACKAGE_MANAGERS for command in manager.commands}


def subcommand(arguments: Sequence[str | None]) -> str | None:
    """The first argument that is not an option (`apt-get -y install x` -> install)."""
    for argument in arguments:
        if argument is None:
            return None
        if not argument.startswith("-"):
            return argument
    return None


def python_module_command(name: str, arguments: Sequence[str | None]) -> tuple[str, Sequence[str | None]]:
    """`python -m pip install x` is `pip install x`."""
    if name.startswith("python") and len(arguments) >= 2 and arguments[0] == "-m" and arguments[1]:
        return arguments[1], arguments[2:]
    return name, arguments


def role(name: str | None, arguments: Sequence[str | None]) -> Role:
    """What one simple command does, for judging whether two RUNs belong in one layer."""
    if name is None:
        return Role.OTHER
    name, arguments = python_module_command(name.rsplit("/", 1)[-1], arguments)
    manager = _MANAGER_BY_COMMAND.get(name)
    if manager is not None:
        verb = subcommand(arguments)
        if verb in manager.update:
            return Role.UPDATE
        if verb in manager.install:
            return Role.INSTALL
        if verb in manager.clean:
            return Role.CLEANUP
        return Role.OTHER
    if name == "rm":
        return Role.CLEANUP
    if name in LIGHT_COMMANDS:
        return Role.LIGHT
    return Role.OTHER


def command_role(command: SimpleCommand) -> Role:
    """``role`` of the command as written, read once per command: the merge claims ask it of every pair of RUNs."""
    return command.facts(_role_as_written)


def _role_as_written(command: SimpleCommand) -> Role:
    return role(command.name_literal, command.argument_literals)


def changes_shell_state(name: str | None, arguments: Sequence[str | None]) -> bool:
    """Whether a later command in the same shell could see an effect of this one (an unknown name could). A prefix
    keyword is judged by the command it runs (`time -p cd /x` by `cd /x`)."""
    while name in COMMAND_PREFIXES:
        rest = list(arguments)
        while rest and rest[0] is not None and rest[0].startswith("-") and name == "time":
            rest.pop(0)
        if not rest:
            return False
        name, arguments = rest[0], rest[1:]
    if name is None:
        return True
    if name in STATE_CHANGING_BUILTINS:
        return True
    if name == "[[":  # bash sets BASH_REMATCH on `=~`
        return "=~" in arguments
    return name == "printf" and "-v" in arguments


def manager_of(name: str | None) -> PackageManager | None:
    return None if name is None else _MANAGER_BY_COMMAND.get(name.rpartition("/")[2])
