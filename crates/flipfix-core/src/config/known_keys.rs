//! The keys the bot reads at start, each with what it is for: the one list
//! `Secrets.example.toml`, docs/configuration.md and `doctor` follow.

/// Every key the bot reads at start, with what it is for. `Secrets.example.toml`
/// and docs/configuration.md document the same list; tests/it/readme_tables.rs and
/// `tests::example_file_documents_every_key` keep them in step.
pub const KNOWN_KEYS: &[(&str, &str)] = &[
    (
        "DISCORD_TOKEN",
        "the bot token from Discord's developer portal",
    ),
    (
        "DATABASE_URL",
        "Postgres URL; unset = an embedded cluster under FLIPFIX_DATA_DIR",
    ),
    (
        "DISCORD_GUILD_ID",
        "the home server: the only server the bot serves (required for run)",
    ),
    (
        "ANTHROPIC_API_KEY",
        "API key for Claude; the ANTHROPIC_API_KEY setting overrides it",
    ),
    ("ANTHROPIC_BASE_URL", "Anthropic API base URL"),
    (
        "OPENAI_API_KEY",
        "API key for provider openai_compatible (optional: local servers need none)",
    ),
    (
        "DISCORD_PROXY_URL",
        "send Discord REST through this base URL (ratelimiter off)",
    ),
    (
        "PUBLIC_BASE_URL",
        "where record links point, e.g. https://flipfix.example",
    ),
    (
        "DISCORD_CLIENT_ID",
        "sign-in: the OAuth2 client id (unset = the bot's application id)",
    ),
    (
        "DISCORD_CLIENT_SECRET",
        "sign-in: the OAuth2 client secret from Discord's developer portal",
    ),
    (
        "SESSION_SECRET",
        "signs sign-in cookies, at least 32 bytes; unset = a key generated once, kept in Postgres",
    ),
    (
        "FLIPFIX_MEMBERSHIP_RECHECK_MINUTES",
        "how often a signed-in member's membership is checked again (1-60, default 60)",
    ),
    (
        "METRICS_TOKEN",
        "/metrics answers only with Authorization: Bearer <this>; unset = /metrics is 404",
    ),
    (
        "HTTP_TRUSTED_PROXIES",
        "comma-separated proxy addresses whose X-Forwarded-For names the client",
    ),
    (
        "HTTP_BIND",
        "address the record pages are served on (default 127.0.0.1:8080)",
    ),
    (
        "PORT",
        "with HTTP_BIND unset, serve on 0.0.0.0:PORT (platforms set it)",
    ),
    (
        "FLIPFIX_ALLOW_LOOPBACK_URLS",
        "dev/test only: allow http://127.0.0.1 webhook URLs",
    ),
    (
        "FLIPFIX_DATA_DIR",
        "data directory of the embedded Postgres cluster",
    ),
    (
        "MEDIA_S3_URL",
        "keep photo copies in this S3-compatible bucket (s3://bucket/prefix) instead of Postgres",
    ),
    (
        "MEDIA_S3_ENDPOINT",
        "the bucket's endpoint when it is not AWS, e.g. https://minio.example:9000",
    ),
    ("MEDIA_S3_REGION", "the bucket's region (default us-east-1)"),
    (
        "MEDIA_S3_ACCESS_KEY_ID",
        "access key id for the media bucket",
    ),
    (
        "MEDIA_S3_SECRET_ACCESS_KEY",
        "secret access key for the media bucket",
    ),
    ("FLIPFIX_WORKFLOWS_DIR", "directory of workflow YAML files"),
    ("FLIPFIX_PROMPTS_DIR", "directory of minijinja templates"),
    (
        "FLIPFIX_PAGES_DIR",
        "directory of the record pages' minijinja templates",
    ),
    (
        "RUST_LOG",
        "log filter, e.g. info or flipfix_bot=debug,flipfix_core=debug",
    ),
    (
        "LOG_FORMAT",
        "json = one JSON object per line (for log platforms); default text",
    ),
];
