-- The "review prompt": a message the bot posts in a channel for a review
-- started without an interaction (a reaction, a new thread), whose Review
-- button only the owner may use. Kept so a click after a restart finds it
-- and the end of the review edits it once.
CREATE TABLE review_prompts (
    session_id    BIGINT PRIMARY KEY REFERENCES review_sessions(id) ON DELETE CASCADE,
    channel_id    BIGINT NOT NULL,
    message_id    BIGINT NOT NULL,
    owner_user_id BIGINT NOT NULL,
    closed        BOOLEAN NOT NULL DEFAULT false,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
