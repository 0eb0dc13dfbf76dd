-- Poison rows end (issue #10): a row that cannot be rendered, or that
-- Discord refuses with a 4xx, is set aside as failed after
-- NOTIFY_MAX_ATTEMPTS attempts instead of being retried forever. It keeps
-- its error and can be re-queued (`/flipfix notifications retry`) or
-- dropped. A row is pending while both `delivered_at` and `failed_at` are
-- NULL.
ALTER TABLE notification_outbox ADD COLUMN failed_at TIMESTAMPTZ;

-- Set when a digest holding this row was refused with a 4xx: the row is
-- posted on its own from then on, so the refused one is found and the
-- others go out.
ALTER TABLE notification_outbox ADD COLUMN post_alone BOOLEAN NOT NULL DEFAULT FALSE;

-- The coalescing lookups: a person's newest pending row (quiet period) and
-- the person's other pending rows (digest members).
CREATE INDEX notification_outbox_author_pending_idx
    ON notification_outbox (author_key, created_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- Pending rows by due time (the claim and the dispatcher's wake-up time).
CREATE INDEX notification_outbox_pending_due_idx
    ON notification_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- The admin list of failed rows.
CREATE INDEX notification_outbox_failed_idx
    ON notification_outbox (failed_at)
    WHERE failed_at IS NOT NULL;

-- Superseded by the pending index above (it also skips failed rows).
DROP INDEX IF EXISTS notification_outbox_due_idx;
