-- Daily summaries (issue #12): one row per (summary, local date) is the
-- claim that makes a summary go out once however many processes run. It is
-- inserted in the same transaction as the summary's outbox row, so a
-- summary is either decided (queued, or skipped with the reason) and
-- claimed, or neither.
CREATE TABLE summary_posts (
    id            BIGSERIAL PRIMARY KEY,
    summary       TEXT NOT NULL,
    -- The local date (in the summary's timezone) it covers.
    local_date    DATE NOT NULL,
    -- When it was due, and the start of the window its records come from
    -- (the previous day's due time).
    due_at        TIMESTAMPTZ NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL,
    decided_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- queued: an outbox row carries it; the others were not posted.
    outcome       TEXT NOT NULL
        CHECK (outcome IN ('queued', 'nothing_to_say', 'webhooks_off')),
    record_count  INTEGER NOT NULL DEFAULT 0,
    -- The rendered message (queued only): the day as it was at the due
    -- time, whenever the dispatcher gets to post it.
    title         TEXT,
    body          TEXT,
    UNIQUE (summary, local_date)
);

-- An outbox row carries either a record's notification or a summary.
ALTER TABLE notification_outbox ALTER COLUMN record_id DROP NOT NULL;
ALTER TABLE notification_outbox
    ADD COLUMN summary_post_id BIGINT REFERENCES summary_posts (id) ON DELETE CASCADE;
ALTER TABLE notification_outbox
    ADD CONSTRAINT notification_outbox_one_subject
    CHECK (num_nonnulls(record_id, summary_post_id) = 1);
