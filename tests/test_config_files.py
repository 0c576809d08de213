"""One run's lookup of configuration files (`ConfigFiles`) answers for every folder what `config_file` does, whichever
folder is asked first: a folder's own file wins over the one above it, and a pyproject.toml without
[tool.dockerfix] is passed over."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from dockerfix.rewriter.config import ConfigFiles, config_file
from dockerfix.rewriter.discovery import walk

FOLDERS = ("", "a", "a/b", "a/b/c", "own", "own/deep", "other", "other/x")


def tree(root: Path) -> list[Path]:
    (root / ".dockerfix.toml").write_text('select = ["DF101"]\n')
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "own" / "pyproject.toml").write_text('[tool.dockerfix]\nselect = ["DF102"]\n')
    (root / "other" / "pyproject.toml").write_text('[project]\nname = "other"\n')
    (root / "a" / "b" / ".dockerfix.toml").write_text('select = ["DF104"]\n')
    return [(root / folder).resolve() for folder in FOLDERS]


@pytest.mark.parametrize("order", list(itertools.islice(itertools.permutations(range(len(FOLDERS))), 0, None, 5000)))
def test_each_folder_gets_the_file_config_file_names_whichever_is_asked_first(tmp_path, order):
    folders = tree(tmp_path)
    lookup = ConfigFiles()
    for index in order:
        assert lookup.nearest(folders[index]) == config_file(folders[index])
    assert lookup.nearest(folders[FOLDERS.index("a/b/c")]) == folders[FOLDERS.index("a/b")] / ".dockerfix.toml"
    assert lookup.nearest(folders[FOLDERS.index("own/deep")]) == folders[FOLDERS.index("own")] / "pyproject.toml"
    assert lookup.nearest(folders[FOLDERS.index("other/x")]) == folders[0] / ".dockerfix.toml"


def test_a_folder_walk_s_listings_find_the_configuration_of_each_dockerfile_s_folder(tmp_path):
    tree(tmp_path)
    for folder in FOLDERS:
        (tmp_path / folder / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "node_modules").mkdir()  # not walked: the link to a file in it is its only name the walk finds
    (tmp_path / "node_modules" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "own" / "deep" / "linked.Dockerfile").symlink_to(tmp_path / "node_modules" / "Dockerfile")
    found = walk(tmp_path)
    assert len(found.files) == len(FOLDERS) + 1
    lookup = ConfigFiles()
    for path in found.files:
        listing = found.folders[path.parent]
        assert listing.resolved == path.parent.resolve()
        assert lookup.nearest(listing.resolved, listing.names) == config_file(path), path
