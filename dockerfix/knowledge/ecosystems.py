"""What dependency installs read: per ecosystem, the manifest files an install command needs and the signs that it
needs more (local paths, workspaces, install scripts). Used by the build-cache rules."""

from __future__ import annotations

import re

from msgspec import Struct, field
from msgspec.structs import replace

from dockerfix.rewriter.shell import SimpleCommand

from .analysis import Invocation
from .dependencies import ContextFiles, json_object, requirement_files, requirement_lines


class Install(Struct, frozen=True):
    """A recognised dependency install: the manifests it reads (relative to the install's working folder) and,
    when it provably needs more than them, why. ``split`` names the options that make the command install the
    dependencies alone, for a command that also installs the project itself (`poetry install`): the command then
    runs twice, with them before the source is copied and unchanged after it."""

    ecosystem: str
    manifests: tuple[str, ...]
    needs_more: str | None = None
    optional: tuple[str, ...] = field(default=())
    split: tuple[str, ...] = field(default=())


def _pip(arguments: list[str | None], context: ContextFiles | None) -> Install | None:
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
    requirements = requirement_files(context, files)
    reason = requirements.beyond[0][1] if requirements.beyond else None
    for name, text in requirements.texts.items():
        for line in requirement_lines(text or ""):
            if line.startswith(("-e", "--editable", ".", "/", "file:")) or " @ file:" in line:
                reason = f"{name} installs a local path ({line})"
            elif re.match(r"^(-f|--find-links)\s*=?\s*(?!https?://)\S", line):
                reason = f"{name} finds packages in a local folder ({line})"
    return Install("pip", tuple(sorted(requirements.texts)), reason)


def _mapping(table: dict, key: str) -> dict:
    """``table[key]`` when it is an object; a manifest's value of another type means nothing here."""
    value = table.get(key)
    return value if isinstance(value, dict) else {}


def _node(tool: str, verb: str | None, arguments: list[str | None], context: ContextFiles | None) -> Install | None:
    installs = {"npm": ("install", "i", "ci"), "yarn": ("install", None), "pnpm": ("install", "i")}
    if verb not in installs[tool]:
        return None
    positional = [a for a in arguments[1:] if a is None or not a.startswith("-")] if verb else []
    if positional:
        return None  # `npm install left-pad` adds a package; not a manifest install
    locks = {
        "npm": ("package-lock.json", "npm-shrinkwrap.json"),
        "yarn": ("yarn.lock", ".yarnrc.yml", ".yarnrc", ".npmrc"),
        "pnpm": ("pnpm-lock.yaml", ".npmrc"),
    }[tool]
    reason = None
    if context is not None:
        text = context.read_text("package.json")
        if text is not None:
            try:
                package = json_object(text)
            except ValueError:
                package = {}
            hooks = [
                name
                for name in ("preinstall", "install", "postinstall", "prepare")
                if name in _mapping(package, "scripts")
            ]
            if hooks:
                reason = f"package.json runs `{hooks[0]}` during the install"
            elif package.get("workspaces"):
                reason = "package.json declares workspaces"
            else:
                for section in ("dependencies", "devDependencies", "optionalDependencies"):
                    for spec in _mapping(package, section).values():
                        if isinstance(spec, str) and spec.startswith(("file:", "link:", "workspace:", ".", "/")):
                            reason = f"package.json has a local dependency ({spec})"
        if context.exists("pnpm-workspace.yaml"):
            reason = reason or "pnpm-workspace.yaml declares a workspace"
    return Install(tool, ("package.json",), reason, locks)


def _bundle(arguments: list[str | None], context: ContextFiles | None) -> Install:
    reason = None
    if context is not None:
        gemfile = context.read_text("Gemfile") or ""
        if re.search(r"\bpath:|:path\s*=>|\bgemspec\b", gemfile):
            reason = "the Gemfile uses a local path or gemspec"
    return Install("bundler", ("Gemfile",), reason, ("Gemfile.lock",))


def _go(arguments: list[str | None], context: ContextFiles | None) -> Install:
    reason = None
    if context is not None:
        gomod = context.read_text("go.mod") or ""
        if re.search(r"^[ \t]*replace\b.*=>\s*\.{1,2}/", gomod, re.MULTILINE) or re.search(r"=>\s*\.{1,2}/", gomod):
            reason = "go.mod replaces a module with a local path"
        if context.exists("go.work"):
            reason = reason or "a go.work workspace"
    return Install("go", ("go.mod",), reason, ("go.sum",))


def _dotnet(arguments: list[str | None], context: ContextFiles | None) -> Install:
    """`dotnet restore` reads the project and solution files and the NuGet/MSBuild settings beside them."""
    if context is None or not context.has_contents:
        return Install("dotnet", (), "the project files can only be named from the build context")
    projects = [path for path in context.glob("*.csproj") + context.glob("*.fsproj") + context.glob("*.sln")]
    if not projects:
        return Install("dotnet", (), "no project file at the top of the build context")
    if any(context.read_text(path) and "ProjectReference" in (context.read_text(path) or "") for path in projects):
        return Install("dotnet", tuple(projects), "a project references other projects")
    settings = (
        "NuGet.config",
        "nuget.config",
        "Directory.Build.props",
        "Directory.Build.targets",
        "Directory.Packages.props",
        "global.json",
    )
    return Install("dotnet", tuple(projects), None, settings)


def _composer(arguments: list[str | None], context: ContextFiles | None) -> Install:
    """`composer install` runs the project's scripts and dumps its autoloader, both of which read the source;
    `--no-scripts --no-autoloader` leaves only the download, which reads composer.json and composer.lock."""
    split = tuple(flag for flag in ("--no-scripts", "--no-autoloader") if flag not in arguments)
    reason = None
    if context is not None:
        try:
            manifest = json_object(context.read_text("composer.json") or "{}")
        except ValueError:
            manifest = {}
        repositories = manifest.get("repositories")
        entries = (
            repositories.values()
            if isinstance(repositories, dict)
            else repositories
            if isinstance(repositories, list)
            else ()
        )
        if any(isinstance(entry, dict) and entry.get("type") in ("path", "artifact") for entry in entries):
            reason = "composer.json installs from a local path repository"
    return Install("composer", ("composer.json",), reason, ("composer.lock", "auth.json"), split)


def _gradle(context: ContextFiles | None) -> Install:
    """`gradle dependencies` evaluates the build scripts: the build file, the settings file and gradle.properties,
    and the build logic of buildSrc or included builds when there are any."""
    if context is None or not context.has_contents:
        return Install("gradle", (), "the build files can only be named from the build context")
    scripts = [name for name in ("build.gradle.kts", "build.gradle") if context.exists(name)]
    if not scripts:
        return Install("gradle", (), "no build.gradle(.kts) at the top of the build context")
    settings = [name for name in ("settings.gradle.kts", "settings.gradle") if context.exists(name)]
    settings_text = "".join(context.read_text(name) or "" for name in settings)
    if re.search(r"\binclude(Build)?\s*\(?\s*['\"]", settings_text):
        return Install(
            "gradle", tuple(scripts), "settings.gradle includes other projects, whose build files the install reads"
        )
    if context.exists("buildSrc"):
        return Install("gradle", tuple(scripts), "buildSrc holds build logic the install compiles")
    return Install("gradle", tuple(scripts + settings), None, ("gradle.properties",))


def _gradle_wrapper(context: ContextFiles | None) -> Install:
    """`./gradlew` also reads the wrapper script and its jar and properties."""
    install = _gradle(context)
    wrapper = ("gradlew", "gradle/wrapper/gradle-wrapper.properties", "gradle/wrapper/gradle-wrapper.jar")
    if install.needs_more is None and context is not None and not all(context.exists(name) for name in wrapper):
        return Install("gradle", install.manifests, "the Gradle wrapper files are not all in the build context")
    return Install("gradle", install.manifests + wrapper, install.needs_more, install.optional)


def _mix(context: ContextFiles | None) -> Install:
    """`mix deps.get` evaluates mix.exs; an umbrella project or a path dependency reads more than it."""
    reason = None
    if context is not None:
        project = context.read_text("mix.exs") or ""
        if re.search(r"\bapps_path\s*:", project):
            reason = "mix.exs is an umbrella project, whose apps' mix.exs files the install reads"
        elif re.search(r"\b(path|in_umbrella)\s*:", project):
            reason = "mix.exs has a local path dependency"
    return Install("mix", ("mix.exs",), reason, ("mix.lock",))


def _maven(context: ContextFiles | None) -> Install:
    reason = None
    if context is not None and re.search(r"<modules>", context.read_text("pom.xml") or ""):
        reason = "pom.xml has modules, whose pom.xml files the install reads"
    return Install("maven", ("pom.xml",), reason)


def _pyproject_needs_more(context: ContextFiles | None) -> str | None:
    """A workspace or a path dependency makes a Poetry or uv install read other projects of the context."""
    text = context.read_text("pyproject.toml") if context is not None else None
    if text is None:
        return None
    if re.search(r"^\[tool\.uv\.workspace\]", text, re.MULTILINE):
        return "pyproject.toml declares a uv workspace"
    if re.search(r"\bpath\s*=\s*[\"']", text):
        return "pyproject.toml has a local path dependency"
    return None


# what each install writes inside its working folder: the source COPY, moved after the install, would lay the
# context's own copy of these over what the install made
INSTALL_OUTPUTS = {
    "npm": ("node_modules",),
    "yarn": ("node_modules",),
    "pnpm": ("node_modules",),
    "bundler": ("vendor/bundle",),
    "composer": ("vendor",),
    "uv": (".venv",),
    "poetry": (".venv",),
    "mix": ("deps", "_build"),
    "gradle": (".gradle", "build"),
    "dotnet": ("obj",),
}


def recognise(command: SimpleCommand, context: ContextFiles | None) -> Install | None:
    """The dependency install this command is, or None."""
    install = _recognise(command, context)
    if install is None or install.needs_more is not None or context is None:
        return install
    for output in INSTALL_OUTPUTS.get(install.ecosystem, ()):
        if context.exists(output):
            return replace(
                install,
                needs_more=f"the context contains {output}, which the source COPY would lay over what the install "
                "wrote there",
            )
    return install


def _recognise(command: SimpleCommand, context: ContextFiles | None) -> Install | None:
    invocation = Invocation.of(command)
    name, arguments, verb = invocation.tool, invocation.arguments, invocation.verb
    if name is None:
        return None
    rest = arguments[invocation.verb_at :] if verb is not None else []
    if name in ("pip", "pip3") and verb == "install":
        return _pip(rest, context)
    if name in ("npm", "yarn", "pnpm"):
        return _node(name, verb, rest if verb else [None], context)
    if name in ("bundle", "bundler") and verb == "install":
        return _bundle(rest, context)
    if name == "go" and verb == "mod" and "download" in arguments:
        return _go(rest, context)
    if name == "pipenv" and verb in ("install", "sync") and not any(a and not a.startswith("-") for a in rest[1:]):
        return Install("pipenv", ("Pipfile",), None, ("Pipfile.lock",))
    if name == "poetry" and verb in ("install", "sync") and "--only-root" not in arguments:
        split = () if "--no-root" in arguments else ("--no-root",)
        return Install(
            "poetry", ("pyproject.toml",), _pyproject_needs_more(context), ("poetry.lock", "poetry.toml"), split
        )
    if name == "uv" and verb == "sync" and "--only-install-project" not in arguments:
        split = () if "--no-install-project" in arguments else ("--no-install-project",)
        return Install("uv", ("pyproject.toml",), _pyproject_needs_more(context), ("uv.lock", ".python-version"), split)
    if name == "dotnet" and verb == "restore":
        return _dotnet(rest, context)
    if name == "composer" and verb == "install":
        return _composer(rest, context)
    if name == "mvn" and any(a and a.startswith(("dependency:go-offline", "dependency:resolve")) for a in arguments):
        return _maven(context)
    if name in ("gradle", "gradlew") and "dependencies" in arguments:
        return _gradle(context) if name == "gradle" else _gradle_wrapper(context)
    if name == "mix" and verb == "deps.get":
        return _mix(context)
    if name == "cargo" and verb == "fetch":
        return Install(
            "cargo",
            ("Cargo.toml",),
            "Cargo reads the source targets to load its manifest; a cargo-chef recipe (or a stub src/main.rs) is "
            "needed to fetch before the source",
            ("Cargo.lock",),
        )
    return None
