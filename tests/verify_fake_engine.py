"""A stand-in for the ``docker`` client (``DOCKERFIX_DOCKER``) for verify's tests about its build contexts, which need
no image: what verify does with the user's files happens around the builds, and these tests watch it from outside.

``version`` answers a version; ``build`` appends the tag, the context folder it was given, the paths in it and the
sha256 of its file ``$FAKE_DOCKER_WATCH`` (when set) to ``$FAKE_DOCKER_LOG`` and, when the tag ends in
``$FAKE_DOCKER_HOLD``, writes its pid to ``$FAKE_DOCKER_READY`` and sleeps (the slow step a test kills verify in);
``save`` writes an image without layers; ``image rm`` succeeds."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import time


def _value(arguments: list[str], flag: str) -> str:
    return arguments[arguments.index(flag) + 1]


def _entries(context: str) -> list[str]:
    found: list[str] = []
    for folder, folders, files in os.walk(context):  # links are listed, never followed
        found.extend(os.path.relpath(os.path.join(folder, name), context) for name in folders + files)
    return sorted(found)


def _build(arguments: list[str]) -> None:
    tag, context = _value(arguments, "--tag"), arguments[-1]
    watched = os.environ.get("FAKE_DOCKER_WATCH")
    digest = None
    if watched:
        with open(os.path.join(context, watched), "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    with open(os.environ["FAKE_DOCKER_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"tag": tag, "context": context, "entries": _entries(context), "watched": digest}) + "\n")
    hold = os.environ.get("FAKE_DOCKER_HOLD")
    if hold and tag.endswith(hold):
        with open(os.environ["FAKE_DOCKER_READY"], "w", encoding="utf-8") as ready:
            ready.write(str(os.getpid()))
        time.sleep(300)
    with open(_value(arguments, "--iidfile"), "w", encoding="utf-8") as iid:
        iid.write("sha256:" + "0" * 64)
    sys.stderr.write("#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n")


def _save(arguments: list[str]) -> None:
    members = {
        "manifest.json": json.dumps([{"Config": "config.json", "Layers": []}]).encode(),
        "config.json": json.dumps({"config": {}, "rootfs": {"type": "layers", "diff_ids": []}}).encode(),
    }
    with tarfile.open(_value(arguments, "--output"), "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def main(arguments: list[str]) -> int:
    command = arguments[0]
    if command == "version":
        print("26.1.5")
    elif command == "build":
        _build(arguments)
    elif command == "save":
        _save(arguments)
    elif command != "image":
        sys.stderr.write(f"fake docker: no command {command}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
