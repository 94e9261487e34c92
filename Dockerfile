# Multi-stage build: compile in the Rust image, run as a non-root user in slim Debian.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libopus-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY graphql ./graphql
COPY examples ./examples
COPY tests ./tests
COPY agent.toml ./
RUN cargo build --release --locked --bin interview-agent

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopus0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app agent \
    && mkdir -p /app/interview-spool && chown agent /app/interview-spool
WORKDIR /app
COPY --from=build /src/target/release/interview-agent /usr/local/bin/interview-agent
COPY agent.toml /app/agent.toml
USER agent
# The results spool (interview.spool_dir): mount a persistent volume so results that could not
# be delivered yet survive a container restart and are delivered by the next one.
VOLUME /app/interview-spool
# Health and metrics (GET /, /worker, /metrics).
EXPOSE 8081
ENTRYPOINT ["interview-agent"]
CMD ["start"]
