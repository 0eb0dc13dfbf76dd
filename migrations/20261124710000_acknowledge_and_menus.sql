-- Acknowledging at the source, and machine menus on review cards.

-- Messages the bot itself posted in a conversation (the reply listing the
-- records a review created). The analysis leaves them out, so the bot never
-- reads its own acknowledgement as a source.
CREATE TABLE bot_posts (
    message_id  BIGINT PRIMARY KEY,
    channel_id  BIGINT NOT NULL,
    session_id  BIGINT REFERENCES review_sessions (id) ON DELETE SET NULL,
    posted_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One public reply per review: the row is claimed before the post, so two
-- racing clicks or a restart never post twice. `outcome` says what became
-- of the claim: 'posting' (claimed; the process may have died before the
-- post, and then nothing more is tried), 'posted', 'skipped' (a missing
-- permission) or 'failed'.
CREATE TABLE review_replies (
    session_id  BIGINT PRIMARY KEY REFERENCES review_sessions (id) ON DELETE CASCADE,
    claimed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    outcome     TEXT NOT NULL DEFAULT 'posting'
                CHECK (outcome IN ('posting', 'posted', 'skipped', 'failed')),
    message_id  BIGINT
);

-- Machines the reviewed conversation mentions, in order of first mention:
-- the second group of a card's machine menu.
CREATE TABLE review_machine_mentions (
    session_id  BIGINT NOT NULL REFERENCES review_sessions (id) ON DELETE CASCADE,
    machine_id  BIGINT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    rank        INTEGER NOT NULL,
    PRIMARY KEY (session_id, machine_id)
);
