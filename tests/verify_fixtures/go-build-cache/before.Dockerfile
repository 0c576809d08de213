FROM debian:bookworm
# go and a library from Debian's packages: the build downloads nothing, so what a rebuild costs is compiling
RUN apt-get update \
    && apt-get install -y --no-install-recommends golang-go golang-golang-x-text-dev \
    && rm -rf /var/lib/apt/lists/*
ENV GO111MODULE=off GOPATH=/usr/share/gocode
WORKDIR /src
COPY main.go .
RUN go build -o /usr/local/bin/hello main.go
CMD ["hello"]
