"""What a built image is made of, read from ``docker save``: its layers (sizes as stored and gzip-compressed, the
instruction that made each), its config and its final root filesystem (the layers applied in order, whiteouts
included), with nothing left to interpret by the engine."""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

CHUNK = 1 << 20
CONFIG_FIELDS = ("Cmd", "Entrypoint", "Env", "User", "WorkingDir", "ExposedPorts", "Labels", "Volumes", "Healthcheck")
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class Entry:
    """One path of a root filesystem, with what equivalence compares."""

    kind: str  # file, dir, symlink, char, block, fifo
    mode: int  # permission bits only: Go's tar writer adds the type bits to the mode, GNU tar does not
    uid: int
    gid: int
    size: int
    digest: str  # sha256 of a file's content, a symlink's target, a device's numbers

    def as_json(self) -> dict:
        return {
            "type": self.kind,
            "mode": f"{self.mode:04o}",
            "owner": f"{self.uid}:{self.gid}",
            "size": self.size,
            "sha256": self.digest,
        }


@dataclass(frozen=True)
class Layer:
    diff_id: str
    created_by: str
    content_bytes: int  # the files' sizes, as `docker history` counts them
    tar_bytes: int
    gzip_bytes: int  # what a push uploads
    entries: dict[str, Entry] = field(repr=False, compare=False)
    whiteouts: tuple[str, ...] = field(repr=False, compare=False)
    opaque: tuple[str, ...] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Image:
    layers: tuple[Layer, ...]
    config: dict

    def config_fields(self) -> dict:
        return {name: self.config.get("config", {}).get(name) for name in CONFIG_FIELDS}

    def root_filesystem(self) -> dict[str, Entry]:
        files: dict[str, Entry] = {}
        for layer in self.layers:
            for folder in layer.opaque:
                prefix = folder.rstrip("/") + "/"
                for path in [path for path in files if path.startswith(prefix)]:
                    del files[path]
            for removed in layer.whiteouts:
                prefix = removed + "/"
                for path in [path for path in files if path == removed or path.startswith(prefix)]:
                    del files[path]
            files.update(layer.entries)
        return files


def _normal(name: str) -> str:
    return posixpath.normpath("/" + name.lstrip("/"))


def _kind(member: tarfile.TarInfo) -> str:
    if member.isdir():
        return "dir"
    if member.issym():
        return "symlink"
    if member.ischr():
        return "char"
    if member.isblk():
        return "block"
    if member.isfifo():
        return "fifo"
    return "file"


def read_layer(data: IO[bytes], diff_id: str, created_by: str) -> Layer:
    """One layer tar (a file object positioned at its start): its entries, whiteouts and sizes."""
    digest = hashlib.sha256()
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    sizes = [0, 0]  # tar bytes, gzip bytes

    class Measuring:
        def read(self, size: int = -1) -> bytes:
            chunk = data.read(size)
            digest.update(chunk)
            sizes[0] += len(chunk)
            sizes[1] += len(compressor.compress(chunk))
            return chunk

    entries: dict[str, Entry] = {}
    whiteouts: list[str] = []
    opaque: list[str] = []
    content = 0
    # typeshed asks any file object for write, seek and tell too; a stream ("r|") only reads
    with tarfile.open(fileobj=Measuring(), mode="r|") as layer:  # type: ignore[call-overload]
        for member in layer:
            path = _normal(member.name)
            folder, name = posixpath.split(path)
            if name == OPAQUE:
                opaque.append(folder)
                continue
            if name.startswith(WHITEOUT):
                whiteouts.append(posixpath.join(folder, name[len(WHITEOUT) :]))
                continue
            if member.islnk():
                target = entries.get(_normal(member.linkname))
                if target is not None:
                    entries[path] = Entry(
                        target.kind, member.mode & 0o7777, member.uid, member.gid, target.size, target.digest
                    )
                continue
            if member.isfile():
                hasher = hashlib.sha256()
                stream = layer.extractfile(member)
                while chunk := stream.read(CHUNK):
                    hasher.update(chunk)
                entry_digest, size = hasher.hexdigest(), member.size
                content += member.size
            elif member.issym():
                entry_digest, size = hashlib.sha256(member.linkname.encode()).hexdigest(), len(member.linkname)
            elif member.ischr() or member.isblk():
                entry_digest, size = f"{member.devmajor},{member.devminor}", 0
            else:
                entry_digest, size = "", 0
            entries[path] = Entry(_kind(member), member.mode & 0o7777, member.uid, member.gid, size, entry_digest)
    while chunk := Measuring().read(CHUNK):  # the tar's zero padding after its end marker
        pass
    sizes[1] += len(compressor.flush())
    actual = "sha256:" + digest.hexdigest()
    if diff_id and actual != diff_id:
        raise ValueError(f"layer content {actual} does not match the image's diff id {diff_id}")
    return Layer(diff_id or actual, created_by, content, sizes[0], sizes[1], entries, tuple(whiteouts), tuple(opaque))


class LayerCache:
    """Layers already read, by diff id: the base image and shared steps are read once per run."""

    def __init__(self) -> None:
        self.layers: dict[str, Layer] = {}

    def read_saved(self, archive: Path) -> Image:
        """An image from the tarball ``docker save`` wrote (one image)."""
        with tarfile.open(archive, mode="r:") as saved:
            manifest = json.load(_saved_file(saved, "manifest.json"))[0]
            config = json.load(_saved_file(saved, manifest["Config"]))
            diff_ids = config["rootfs"]["diff_ids"]
            creators = [
                entry.get("created_by", "") for entry in config.get("history", []) if not entry.get("empty_layer")
            ]
            creators += [""] * (len(diff_ids) - len(creators))
            layers = []
            for name, diff_id, created_by in zip(manifest["Layers"], diff_ids, creators, strict=False):
                if diff_id not in self.layers:
                    self.layers[diff_id] = read_layer(_saved_file(saved, name), diff_id, created_by)
                layers.append(replace(self.layers[diff_id], created_by=created_by))
        return Image(tuple(layers), config)


def _saved_file(saved: tarfile.TarFile, name: str) -> IO[bytes]:
    """A file of the tarball ``docker save`` wrote (None from tarfile: the member is no regular file)."""
    file = saved.extractfile(name)
    if file is None:
        raise ValueError(f"{name} in the saved image is not a file")
    return file
