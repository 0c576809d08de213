FROM golang:1.22-bookworm AS build
WORKDIR /src
COPY go.mod ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go build -trimpath -o /usr/local/bin/api .

FROM scratch
LABEL org.opencontainers.image.title="api"
WORKDIR /src
ENV CGO_ENABLED=0
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /usr/local/bin/api /usr/local/bin/api
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["api"]
