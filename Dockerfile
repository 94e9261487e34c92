# Multi-stage build: compile in the Rust image, run as a non-root user in slim Debian.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libopus-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY examples ./examples
COPY tests ./tests
COPY agent.toml ./
RUN cargo build --release --locked --bin interview-agent

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopus0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app agent
WORKDIR /app
COPY --from=build /src/target/release/interview-agent /usr/local/bin/interview-agent
COPY agent.toml /app/agent.toml
USER agent
# Health and metrics (GET /, /worker, /metrics).
EXPOSE 8081
ENTRYPOINT ["interview-agent"]
CMD ["start"]
