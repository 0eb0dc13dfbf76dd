# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run on a slim Debian with
# only CA certificates. Base images are pinned to a Debian release
# (bookworm) and a Rust minor version (the one the tree is tested with).
#
# Layer order matters: the dependencies are built against stub sources
# from Cargo.toml and Cargo.lock alone, so a code-only change rebuilds only
# this crate (tests/it/dockerfile.rs checks the order).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates/flipfix-core/Cargo.toml crates/flipfix-core/
RUN mkdir -p src/bin benches crates/flipfix-core/src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs crates/flipfix-core/src/lib.rs \
 && echo 'fn main() {}' > src/bin/shuttle.rs \
 && for bench in prompt_cost discord_burst webhook_throughput pages; do echo 'fn main() {}' > "benches/$bench.rs"; done \
 && cargo build --release --locked --bin flipfix-bot \
 && rm -rf src crates/flipfix-core/src
COPY migrations ./migrations
COPY crates ./crates
COPY src ./src
# The stubs' build left fresher timestamps than the copied sources: touch
# the crate roots so cargo rebuilds the workspace's own crates.
RUN touch src/main.rs src/lib.rs crates/flipfix-core/src/lib.rs \
 && cargo build --release --locked --bin flipfix-bot

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /app flipfix
WORKDIR /app
COPY --from=build /src/target/release/flipfix-bot /usr/local/bin/flipfix-bot
COPY workflows ./workflows
COPY prompts ./prompts
COPY pages ./pages
USER flipfix
# Pages and /healthz on every interface inside the container; publish the
# port (or not) from outside. DATABASE_URL, DISCORD_TOKEN, DISCORD_GUILD_ID
# and the rest come from the environment (see compose.yaml and the README).
ENV HTTP_BIND=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["flipfix-bot", "health"]
CMD ["flipfix-bot", "run"]
