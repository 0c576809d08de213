FROM debian:bookworm
COPY packages.txt /tmp/packages.txt
# The cache lives in mounts, not in the image: the image's docker-clean hook would empty it after every install.
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
    && apt-get update \
    && xargs apt-get install -y --no-install-recommends < /tmp/packages.txt
