# Multi-stage build: compile in the Rust image, run on a slim Debian with
# only CA certificates. Workflows and templates are copied beside the binary
# so authors can also mount their own over them.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin flipfix-bot

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
# DATABASE_URL and DISCORD_TOKEN come from the platform's environment.
CMD ["flipfix-bot", "run"]
