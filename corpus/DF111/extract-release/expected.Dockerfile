FROM debian:bookworm-slim
ARG VERSION=1.2.3
RUN curl -fsSL -o /tmp/tool.tar.gz "https://example.invalid/tool-${VERSION}.tar.gz" \
    && tar -xzf /tmp/tool.tar.gz -C /usr/local/bin \
    && rm -f /tmp/tool.tar.gz
CMD ["tool"]
