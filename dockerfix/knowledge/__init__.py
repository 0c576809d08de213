"""What the rules know and share: shell facts, edits inside RUN, package ecosystems and their manifests, cleanups and
cache folders, base images and stage plans. No rule lives here; ``dockerfix.rules`` holds only rules."""
