FROM debian:bookworm-slim
RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl
CMD ["curl", "--version"]
