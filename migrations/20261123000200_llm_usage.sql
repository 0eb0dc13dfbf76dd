-- One row per Anthropic API call: tokens, model and cost, for "what does
-- the analysis cost us". Cost is in micro-dollars (NULL when the model has
-- no price in the workflow's table).
CREATE TABLE llm_usage (
    id                          BIGSERIAL PRIMARY KEY,
    created_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    purpose                     TEXT NOT NULL,
    requested_by                TEXT NOT NULL,
    model                       TEXT NOT NULL,
    request_id                  TEXT,
    input_tokens                BIGINT NOT NULL CHECK (input_tokens >= 0),
    output_tokens               BIGINT NOT NULL CHECK (output_tokens >= 0),
    cache_creation_input_tokens BIGINT NOT NULL DEFAULT 0 CHECK (cache_creation_input_tokens >= 0),
    cache_read_input_tokens     BIGINT NOT NULL DEFAULT 0 CHECK (cache_read_input_tokens >= 0),
    cost_micro_usd              BIGINT
);
CREATE INDEX llm_usage_created_idx ON llm_usage (created_at DESC);
