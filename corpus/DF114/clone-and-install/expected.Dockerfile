FROM debian:bookworm-slim
RUN git clone --depth 1 https://example.invalid/libfoo.git /usr/src/libfoo \
    && cd /usr/src/libfoo \
    && ./configure && make && make install \
    && rm -rf /usr/src/libfoo
