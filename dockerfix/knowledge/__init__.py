"""What the rules know and share: shell facts, edits inside RUN, package ecosystems and their manifests, cleanups and
cache folders, base images and stage plans. No rule lives here; ``dockerfix.rules`` holds only rules."""

from pathlib import Path

# The data files shipped beside the modules (package data), read by path: importlib.resources' readers cost about
# 2 ms of a one-file check's start (bench/startup.py), and the package is installed as files, never as a zip archive.
DATA = Path(__file__).parent.parent / "data"
