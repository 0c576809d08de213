"""DF106: clean the yum/dnf/zypper cache in the RUN that installed."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.cacherules import AppendCleanupRule
from dockerfix.knowledge.cleanups import removes_path
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

INSTALL_VERBS = {
    "install",
    "groupinstall",
    "localinstall",
    "reinstall",
    "update",
    "upgrade",
    "in",
    "up",
    "dup",
    "dist-upgrade",
}
CLEANUPS = {
    "yum": "yum clean all",
    "dnf": "dnf clean all",
    "microdnf": "microdnf clean all",
    "tdnf": "tdnf clean all",
    "zypper": "zypper clean --all",
}


def manager(command: SimpleCommand) -> str | None:
    invocation = Invocation.of(command)
    return invocation.tool if invocation.runs(CLEANUPS, INSTALL_VERBS) else None


class RpmCacheClean(AppendCleanupRule):
    """Clean the yum, dnf, microdnf or zypper cache in the RUN that installed packages.

    What it does
        Flags a RUN that installs with yum, dnf, microdnf, tdnf or zypper and neither runs `<manager> clean all`
        nor removes the manager's cache folder, and appends the clean command.

    Why
        These managers keep metadata and downloaded packages under `/var/cache`; cleaned in a later RUN they still
        weigh in the image.

    Example
        RUN yum install -y httpd
        becomes
        RUN yum install -y httpd \\
            && yum clean all

    Gain
        Unknown: the size of the rpm package manager's cache after the install was not measured, so the finding
        says so instead of a number (it is reported, marked unknown).

    Fix safety
        Unsafe: it removes the package manager's cache from the image (re-created on the next install).
    """

    code = "DF106"
    tools = tuple(CLEANUPS)
    layer_rule = True
    name = "rpm-cache-clean"
    summary = "yum/dnf/zypper installs leave their cache in the layer."
    hadolint = ("DL3032", "DL3040", "DL3036")
    cached_paths = ("/var/cache/yum", "/var/cache/dnf", "/var/cache/zypp", "/var/cache/tdnf")
    valid = (
        "FROM centos:7\nRUN yum install -y httpd && yum clean all\n",
        "FROM fedora\nRUN dnf install -y git && rm -rf /var/cache/dnf\n",
        "FROM opensuse/leap\nRUN zypper install -y git && zypper clean --all\n",
    )
    invalid = (
        Example(
            "FROM centos:7\nRUN yum install -y httpd\n",
            "FROM centos:7\nRUN yum install -y httpd \\\n    && yum clean all\n",
            unsafe=True,
        ),
        Example(
            "FROM fedora\nRUN dnf -y upgrade && dnf -y install git\n",
            "FROM fedora\nRUN dnf -y upgrade && dnf -y install git \\\n    && dnf clean all\n",
            unsafe=True,
        ),
        Example(
            "FROM opensuse/leap\nRUN zypper --non-interactive install git\n",
            "FROM opensuse/leap\nRUN zypper --non-interactive install git \\\n    && zypper clean --all\n",
            unsafe=True,
        ),
    )

    def creates_mess(self, command: SimpleCommand) -> bool:
        return manager(command) is not None

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        if any(Invocation.of(command).runs(CLEANUPS, ("clean", "cc")) for command in commands):
            return True
        return removes_path(commands, r"^/var/cache/(yum|dnf|zypp|tdnf)")

    def cleanup_command(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> str:
        return CLEANUPS[next(name for command in commands if (name := manager(command)))]
