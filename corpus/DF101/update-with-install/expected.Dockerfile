FROM debian:bookworm-slim
# refresh the package index
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
COPY app /app
CMD ["/app/run"]
