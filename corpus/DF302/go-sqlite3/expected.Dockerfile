FROM golang:1.22
WORKDIR /src
COPY . .
RUN CGO_ENABLED=1 go build -o /usr/local/bin/notes .
CMD ["notes"]
