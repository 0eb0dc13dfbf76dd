-- Transactional outbox for webhook notifications (ARCHITECTURE decision 4):
-- a row is written in the same transaction as its record, so a record is
-- never created without its notification, nor a notification without its
-- record. Delivered rows are kept (with Discord's message id) as history.
CREATE TABLE notification_outbox (
    id                 BIGSERIAL PRIMARY KEY,
    record_id          BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    -- Who the record is by, for coalescing a person's burst into a digest;
    -- NULL when the record has no person (posted at once).
    author_key         TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    next_attempt_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A claim is a lease: a dispatcher that dies leaves it to expire and
    -- another (or the restarted one) takes the row again.
    claimed_until      TIMESTAMPTZ,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    delivered_at       TIMESTAMPTZ,
    discord_message_id BIGINT,
    -- Set on rows delivered as part of a digest: the row that carried them.
    digest_of          BIGINT REFERENCES notification_outbox (id)
);
CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at)
    WHERE delivered_at IS NULL;

-- One row: the queue is parked (webhook deleted or wrong) until the URL
-- changes. `parked_url` is the URL that failed (the settings table holds it
-- anyway); a different current URL unparks.
CREATE TABLE notification_state (
    id              BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    parked_error    TEXT,
    parked_url      TEXT,
    parked_at       TIMESTAMPTZ
);
INSERT INTO notification_state (id) VALUES (TRUE);
