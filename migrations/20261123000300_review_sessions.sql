-- "Add to Flipfix" reviews live in Postgres, not in memory: a click after a
-- restart or on another instance continues the review.

CREATE TABLE review_sessions (
    id                BIGSERIAL PRIMARY KEY,
    guild_id          BIGINT,
    channel_id        BIGINT NOT NULL,
    target_message_id BIGINT NOT NULL,
    owner_user_id     BIGINT NOT NULL,
    owner_name        TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('analysing', 'reviewing', 'finished', 'cancelled', 'failed', 'expired')),
    current_position  INTEGER NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at        TIMESTAMPTZ NOT NULL
);
-- One active review per message, guarded by the database.
CREATE UNIQUE INDEX review_sessions_one_active_per_message
    ON review_sessions (target_message_id) WHERE status IN ('analysing', 'reviewing');

CREATE TABLE review_items (
    session_id      BIGINT NOT NULL REFERENCES review_sessions (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    -- The suggestion as the person will confirm it (edits applied).
    item            JSONB NOT NULL,
    -- Position of the item this one is a child of (created after it).
    parent_position INTEGER,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'created', 'skipped')),
    record_id       BIGINT REFERENCES records (id),
    decided_at      TIMESTAMPTZ,
    PRIMARY KEY (session_id, position)
);

-- Photos and videos of the source messages, kept with the record.
CREATE TABLE record_media (
    id           BIGSERIAL PRIMARY KEY,
    record_id    BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    url          TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT,
    size_bytes   BIGINT,
    UNIQUE (record_id, url)
);
