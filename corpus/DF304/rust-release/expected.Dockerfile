FROM rust:1.79 AS build
WORKDIR /usr/src/svc
COPY . .
RUN cargo build --release

FROM debian:bookworm-slim
WORKDIR /usr/src/svc
COPY --from=build /usr/src/svc/target/release/svc /usr/src/svc/target/release/svc
ENV RUST_LOG=info
CMD ["./target/release/svc"]
