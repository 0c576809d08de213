FROM debian:bookworm
RUN apt-get update \
    && apt-get install --no-install-recommends -y python3-pip wget build-essential python3-dev \
    && rm -rf /var/lib/apt/lists/*
RUN wget -q https://example.invalid/spark.tgz && tar xzf spark.tgz && rm spark.tgz
CMD ["python3"]
