FROM debian:bookworm-slim
# a backslash went missing at the end of the RUN line: BuildKit reads the next line as an instruction
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
apt-get install -y git
