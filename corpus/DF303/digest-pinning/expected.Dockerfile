# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod main.go ./
RUN CGO_ENABLED=0 go build -o /out/hello .

# tag: debian:bookworm-slim
FROM debian:bookworm-slim@sha256:2222222222222222222222222222222222222222222222222222222222222222
COPY --from=build /out/hello /usr/local/bin/hello
ENTRYPOINT ["hello"]
