FROM alpine:3.20
WORKDIR /src
RUN (cd /tmp && wget -q https://example.invalid/tool.tgz) \
    && mkdir -p build \
    && touch build/.keep
