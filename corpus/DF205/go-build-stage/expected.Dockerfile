FROM golang:1.22 AS build
WORKDIR /src
# the module list first: the download re-runs only when it changes
COPY go.mod ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build CGO_ENABLED=0 go build -o /out/hello .

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/hello /hello
ENTRYPOINT ["/hello"]
