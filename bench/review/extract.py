"""Re-create a blind-review sample's files from fetched snapshots: for every Dockerfile of bench/review/samples.tsv,
its folder at the pinned commit (its build context), under `<out>/<owner>+<name>/<path in the repository>`.

Third-party files stay outside this repository (`--out`, e.g. /work/review/A). The copy is bounded: a file over
`MAX_FILE_BYTES`, or past `MAX_FILES` / `MAX_BYTES` for one repository, is not written, nor a submodule, nor a
symbolic link leading out of its repository; each is listed in `<out>/skipped.tsv` with the reason. A sampled
Dockerfile that is skipped is an error (the sample would not be the one recorded).
Run: `python bench/review/extract.py A --out /work/review/A [--mirrors /work/.mirror]`.
"""

from __future__ import annotations

import argparse
import csv
import posixpath
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "samples.tsv"
MAX_FILE_BYTES = 1 << 20
MAX_FILES = 5000
MAX_BYTES = 64 << 20
REGULAR_MODES = ("100644", "100755")
LINK_MODE = "120000"


def sample_rows(sample: str) -> list[dict[str, str]]:
    with SAMPLES.open(newline="") as table:
        return [row for row in csv.DictReader(table, delimiter="\t") if row["sample"] == sample]


def local_folder(repository: str) -> str:
    return repository.replace("/", "+")


def tree_entries(git_dir: Path, commit: str) -> list[tuple[str, str, str, int]]:
    """(mode, object id, path, size; -1 when not a blob) of every entry at ``commit``."""
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-l", "-z", commit], capture_output=True, check=True
    ).stdout.decode()
    entries = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, _kind, object_id, size = meta.split()
        entries.append((mode, object_id, path, int(size) if size.isdigit() else -1))
    return entries


class Blobs:
    """One `git cat-file --batch` process per repository: reading thousands of blobs without a process each."""

    def __init__(self, git_dir: Path) -> None:
        self.process = subprocess.Popen(
            ["git", "--git-dir", str(git_dir), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.process.stdin is not None and self.process.stdout is not None, "both are pipes"
        self.requests, self.answers = self.process.stdin, self.process.stdout

    def read(self, object_id: str) -> bytes | None:
        """The object's bytes; None when the snapshot lists it but does not hold it (its largest files)."""
        self.requests.write(object_id.encode() + b"\n")
        self.requests.flush()
        header = self.answers.readline().split()
        if header[1:] == [b"missing"]:
            return None
        data = self.answers.read(int(header[2]))
        self.answers.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        self.requests.close()
        self.process.wait()


def under_any(path: str, folders: set[str]) -> bool:
    return any(folder == "" or path.startswith(folder + "/") for folder in folders)


def safe_relative(path: str) -> bool:
    return not path.startswith("/") and ".." not in path.split("/")


def extract_repository(
    git_dir: Path, commit: str, dockerfiles: list[str], root: Path, skipped: list[tuple[str, str, str]], repository: str
) -> None:
    folders = {posixpath.dirname(path) for path in dockerfiles}
    written_files = written_bytes = 0
    blobs = Blobs(git_dir)
    try:
        for mode, object_id, path, size in tree_entries(git_dir, commit):
            if not under_any(path, folders):
                continue
            reason = None
            if not safe_relative(path):
                reason = "a path leading out of the repository"
            elif mode not in REGULAR_MODES and mode != LINK_MODE:
                reason = f"mode {mode} (a submodule)"
            elif size > MAX_FILE_BYTES:
                reason = f"{size} bytes, over {MAX_FILE_BYTES}"
            elif written_files >= MAX_FILES or written_bytes + size > MAX_BYTES:
                reason = f"past {MAX_FILES} files or {MAX_BYTES} bytes for the repository"
            data = blobs.read(object_id) if reason is None else None
            if data is None:
                skipped.append((repository, path, reason or "listed in the snapshot but not held by it"))
                continue
            destination = root / path
            if mode == LINK_MODE:
                target = data.decode(errors="replace")
                if target.startswith("/") or posixpath.normpath(
                    posixpath.join(posixpath.dirname(path), target)
                ).startswith(".."):
                    skipped.append((repository, path, f"a symbolic link to {target}, out of the repository"))
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.symlink_to(target)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
            if mode == "100755":
                destination.chmod(0o755)
            written_files += 1
            written_bytes += size
    finally:
        blobs.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sample", help="the sample's name in samples.tsv (A or B)")
    parser.add_argument("--out", type=Path, required=True, help="a folder that does not exist yet")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    arguments = parser.parse_args()
    rows = sample_rows(arguments.sample)
    if not rows:
        print(f"no sample {arguments.sample!r} in {SAMPLES}", file=sys.stderr)
        return 2
    if arguments.out.exists():
        print(f"{arguments.out} exists: extract into a new folder (nothing there is overwritten)", file=sys.stderr)
        return 2
    per_repository: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        per_repository[(row["repository"], row["commit"])].append(row["path"])
    skipped: list[tuple[str, str, str]] = []
    for (repository, commit), dockerfiles in sorted(per_repository.items()):
        git_dir = arguments.mirrors / local_folder(repository) / "repo"
        root = arguments.out / local_folder(repository)
        root.mkdir(parents=True)
        extract_repository(git_dir, commit, dockerfiles, root, skipped, repository)
    with (arguments.out / "skipped.tsv").open("w") as table:
        table.write("repository\tpath\treason\n")
        table.writelines(f"{repository}\t{path}\t{reason}\n" for repository, path, reason in skipped)
    missing = [
        row["path"] for row in rows if not (arguments.out / local_folder(row["repository"]) / row["path"]).is_file()
    ]
    print(
        f"sample {arguments.sample}: {len(rows)} Dockerfiles of {len(per_repository)} repositories in {arguments.out}; "
        f"{len(skipped)} files skipped (skipped.tsv)"
    )
    if missing:
        print(f"sampled Dockerfiles not extracted: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
