FROM debian:12-slim
WORKDIR /srv/report
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
# the application
COPY . .
RUN chmod +x report.sh
CMD ["./report.sh"]
