"""What dependency installs read: per ecosystem, the manifest files an install command needs and the signs that it
needs more (local paths, workspaces, install scripts). Used by the build-cache rules."""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field

from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.shell import SimpleCommand

from .runedit import tool_and_arguments, verb_index


@dataclass(frozen=True)
class Install:
    """A recognised dependency install: the manifests it reads (relative to the install's working folder) and,
    when it provably needs more than them, why."""

    ecosystem: str
    manifests: tuple[str, ...]
    needs_more: str | None = None
    optional: tuple[str, ...] = field(default=())


def _pip(arguments: list[str | None], context: BuildContext | None) -> Install | None:
    files: list[str] = []
    for index, argument in enumerate(arguments):
        if argument in ("-r", "--requirement", "-c", "--constraint") and index + 1 < len(arguments):
            value = arguments[index + 1]
            if value is None:
                return Install("pip", (), "a requirements file named through a variable")
            files.append(value)
        elif argument is not None and argument.startswith(("--requirement=", "--constraint=")):
            files.append(argument.split("=", 1)[1])
        elif argument is not None and re.match(r"^-[rc].+", argument):
            files.append(argument[2:])
    if not files:
        return None
    others = [a for a in arguments[1:] if a is not None and not a.startswith("-") and a not in files]
    if any(a in (".", "./") or a.startswith(("./", "/", "file:")) or a.endswith((".whl", ".tar.gz")) for a in others):
        return Install("pip", tuple(files), "the install also reads a local path")
    reason = None
    seen = set(files)
    queue = list(files)
    while queue and context is not None:
        name = queue.pop()
        text = context.read_text(name)
        if text is None:
            continue
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            include = re.match(r"^(-r|--requirement|-c|--constraint)\s*=?\s*(\S+)", line)
            if include:
                nested = posixpath.normpath(posixpath.join(posixpath.dirname(name), include.group(2)))
                if nested not in seen:
                    seen.add(nested)
                    queue.append(nested)
            elif line.startswith(("-e", "--editable", ".", "/", "file:")) or " @ file:" in line:
                reason = f"{name} installs a local path ({line})"
            elif re.match(r"^(-f|--find-links)\s*=?\s*(?!https?://)\S", line):
                reason = f"{name} finds packages in a local folder ({line})"
    return Install("pip", tuple(sorted(seen)), reason)


def _node(tool: str, verb: str | None, arguments: list[str | None], context: BuildContext | None) -> Install | None:
    installs = {"npm": ("install", "i", "ci"), "yarn": ("install", None), "pnpm": ("install", "i")}
    if verb not in installs[tool]:
        return None
    positional = [a for a in arguments[1:] if a is None or not a.startswith("-")] if verb else []
    if positional:
        return None  # `npm install left-pad` adds a package; not a manifest install
    locks = {"npm": ("package-lock.json", "npm-shrinkwrap.json"), "yarn": ("yarn.lock", ".yarnrc.yml", ".yarnrc", ".npmrc"), "pnpm": ("pnpm-lock.yaml", ".npmrc")}[tool]
    reason = None
    if context is not None:
        text = context.read_text("package.json")
        if text is not None:
            try:
                package = json.loads(text)
            except ValueError:
                package = {}
            scripts = package.get("scripts", {}) if isinstance(package, dict) else {}
            hooks = [name for name in ("preinstall", "install", "postinstall", "prepare") if name in scripts]
            if hooks:
                reason = f"package.json runs `{hooks[0]}` during the install"
            elif isinstance(package, dict) and package.get("workspaces"):
                reason = "package.json declares workspaces"
            else:
                for section in ("dependencies", "devDependencies", "optionalDependencies"):
                    for spec in (package.get(section) or {}).values() if isinstance(package, dict) else ():
                        if isinstance(spec, str) and spec.startswith(("file:", "link:", "workspace:", ".", "/")):
                            reason = f"package.json has a local dependency ({spec})"
        if context.exists("pnpm-workspace.yaml"):
            reason = reason or "pnpm-workspace.yaml declares a workspace"
        if context.exists("node_modules"):
            reason = reason or "the context contains node_modules, which the source COPY would lay over the install"
    return Install(tool, ("package.json",), reason, locks)


def _bundle(arguments: list[str | None], context: BuildContext | None) -> Install:
    reason = None
    if context is not None:
        gemfile = context.read_text("Gemfile") or ""
        if re.search(r"\bpath:|:path\s*=>|\bgemspec\b", gemfile):
            reason = "the Gemfile uses a local path or gemspec"
        if context.exists("vendor/bundle"):
            reason = reason or "the context contains vendor/bundle, which the source COPY would lay over the install"
    return Install("bundler", ("Gemfile",), reason, ("Gemfile.lock",))


def _go(arguments: list[str | None], context: BuildContext | None) -> Install:
    reason = None
    if context is not None:
        gomod = context.read_text("go.mod") or ""
        if re.search(r"^\s*replace\b.*=>\s*\.{1,2}/", gomod, re.MULTILINE) or re.search(r"=>\s*\.{1,2}/", gomod):
            reason = "go.mod replaces a module with a local path"
        if context.exists("go.work"):
            reason = reason or "a go.work workspace"
    return Install("go", ("go.mod",), reason, ("go.sum",))


def _dotnet(arguments: list[str | None], context: BuildContext | None) -> Install:
    """`dotnet restore` reads the project and solution files and the NuGet/MSBuild settings beside them."""
    if context is None or not context.has_contents:
        return Install("dotnet", (), "the project files can only be named from the build context")
    projects = [path for path in context.glob("*.csproj") + context.glob("*.fsproj") + context.glob("*.sln")]
    if not projects:
        return Install("dotnet", (), "no project file at the top of the build context")
    if any(context.read_text(path) and "ProjectReference" in (context.read_text(path) or "") for path in projects):
        return Install("dotnet", tuple(projects), "a project references other projects")
    settings = ("NuGet.config", "nuget.config", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json")
    return Install("dotnet", tuple(projects), None, settings)


def recognise(command: SimpleCommand, context: BuildContext | None) -> Install | None:
    """The dependency install this command is, or None."""
    name, arguments = tool_and_arguments(command)
    if name is None:
        return None
    index = verb_index(arguments)
    verb = arguments[index] if index is not None else None
    rest = arguments[index:] if index is not None else []
    if name in ("pip", "pip3") and verb == "install":
        return _pip(rest, context)
    if name in ("npm", "yarn", "pnpm"):
        return _node(name, verb, rest if verb else [None], context)
    if name in ("bundle", "bundler") and verb == "install":
        return _bundle(rest, context)
    if name == "go" and verb == "mod" and "download" in arguments:
        return _go(rest, context)
    if name == "pipenv" and verb in ("install", "sync"):
        return Install("pipenv", ("Pipfile",), None, ("Pipfile.lock",))
    if name == "poetry" and verb in ("install", "sync") and "--only-root" not in arguments:
        needs = None if "--no-root" in arguments else "`poetry install` also installs the project itself (split it: `--no-root` first)"
        return Install("poetry", ("pyproject.toml",), needs, ("poetry.lock", "poetry.toml"))
    if name == "uv" and verb == "sync":
        needs = None if "--no-install-project" in arguments else "`uv sync` also installs the project itself (split it: `--no-install-project` first)"
        return Install("uv", ("pyproject.toml",), needs, ("uv.lock",))
    if name == "dotnet" and verb == "restore":
        return _dotnet(rest, context)
    if name == "composer" and verb == "install" and "--no-scripts" in arguments and "--no-autoloader" in arguments:
        return Install("composer", ("composer.json",), None, ("composer.lock",))
    if name == "mvn" and any(a and a.startswith("dependency:go-offline") for a in arguments):
        return Install("maven", ("pom.xml",))
    return None
