"""Draw the two disjoint blind-review samples (issue 20, section 5) from the repositories of
../shared/data/review-pool.txt, as fetched snapshots (bare git directories `<mirrors>/<owner>+<name>/repo`).

Each repository goes whole to one sample (alternately, in the order of the SHA-256 of its name), so no repository is
in both. From a repository a sample takes at most `--cap-a` / `--cap-b` Dockerfiles, in the order of the SHA-256 of
their paths: a spread over a repository's versions and variants that nobody picked by hand, and one that only grows
when a cap is raised (the files of a smaller cap stay in). Templates (`Dockerfile.template`, ...) are not
Dockerfiles anyone builds and are left out. Repositories that cannot be fetched are printed and left out.
Sample A's cap is 20, the first of 12, 20, 30, 40 at which every rule that fires often in sample A has 20
findings with default settings (issue 20: 20 findings per default rule in a sample; at 12, DF101 had 13, DF301 16).
Sample B's is 60: after issue 20's rule changes, at 20 only DF107 came near 20 findings (65 findings in all); at 60,
DF104 and DF107 have 29 each (107 findings in 594 files), and the pool has no further repositories to add.
Writes bench/review/samples.tsv: sample, repository, commit, path.
Run: `python bench/review/draw.py [--mirrors /work/.mirror] [--cap-a N] [--cap-b N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

from dockerfix.rewriter.discovery import is_dockerfile_name

HERE = Path(__file__).resolve().parent
POOL = HERE.parents[2] / "shared" / "data" / "review-pool.txt"
SAMPLES = HERE / "samples.tsv"
TEMPLATE_SUFFIXES = (".template", ".tmpl", ".tpl", ".j2", ".jinja", ".jinja2", ".erb", ".m4", ".in")
SAMPLE_NAMES = ("A", "B")


def pool_repositories() -> list[str]:
    lines = (line.strip() for line in POOL.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def git_directory(mirrors: Path, repository: str) -> Path:
    return mirrors / repository.replace("/", "+") / "repo"


def head_commit(git_dir: Path) -> str | None:
    done = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def dockerfiles_at(git_dir: Path, commit: str) -> list[str]:
    """Paths of the regular files (not links, not submodules) named like Dockerfiles at ``commit``."""
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", commit], capture_output=True, check=True
    ).stdout.decode()
    paths = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode = meta.split()[0]
        name = path.rsplit("/", 1)[-1]
        if mode in ("100644", "100755") and is_dockerfile_name(name) and not name.lower().endswith(TEMPLATE_SUFFIXES):
            paths.append(path)
    return paths


def by_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--cap-a", type=int, default=20, help="Dockerfiles at most per repository in sample A")
    parser.add_argument("--cap-b", type=int, default=60, help="Dockerfiles at most per repository in sample B")
    arguments = parser.parse_args()
    caps = {"A": arguments.cap_a, "B": arguments.cap_b}
    rows: list[tuple[str, str, str, str]] = []
    fetched = []
    for repository in pool_repositories():
        git_dir = git_directory(arguments.mirrors, repository)
        commit = head_commit(git_dir) if git_dir.is_dir() else None
        if commit is None:
            print(f"not fetched, left out: {repository}", file=sys.stderr)
            continue
        fetched.append((repository, commit, git_dir))
    fetched.sort(key=lambda item: by_hash(item[0]))
    for index, (repository, commit, git_dir) in enumerate(fetched):
        sample = SAMPLE_NAMES[index % 2]
        chosen = sorted(dockerfiles_at(git_dir, commit), key=by_hash)[: caps[sample]]
        rows.extend((sample, repository, commit, path) for path in sorted(chosen))
    rows.sort()
    SAMPLES.write_text("sample\trepository\tcommit\tpath\n" + "".join("\t".join(row) + "\n" for row in rows))
    for sample in SAMPLE_NAMES:
        in_sample = [row for row in rows if row[0] == sample]
        print(f"sample {sample}: {len(in_sample)} Dockerfiles from {len({row[1] for row in in_sample})} repositories")
    return 0


if __name__ == "__main__":
    sys.exit(main())
