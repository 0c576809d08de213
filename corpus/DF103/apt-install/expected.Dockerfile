FROM ubuntu:24.04
RUN apt-get update && apt-get install --no-install-recommends -y \
      git \
      make ca-certificates openssh-client \
    && rm -rf /var/lib/apt/lists/*
