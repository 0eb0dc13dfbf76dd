-- Durable copies of the photos and videos of records (Discord's CDN URLs
-- expire after about a day). Each record_media row gets a copy state; a
-- background worker in every process claims pending rows with a lease.
ALTER TABLE record_media
    ADD COLUMN copy_state      TEXT NOT NULL DEFAULT 'pending'
        CHECK (copy_state IN ('pending', 'stored', 'failed', 'skipped')),
    ADD COLUMN copy_attempts   INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN copy_due_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN copy_claimed_until TIMESTAMPTZ,
    ADD COLUMN copy_error      TEXT,
    -- What the bytes are (sniffed), how many, and where they are kept.
    ADD COLUMN stored_type     TEXT,
    ADD COLUMN stored_bytes    BIGINT,
    ADD COLUMN storage         TEXT CHECK (storage IN ('postgres', 's3')),
    ADD COLUMN stored_at       TIMESTAMPTZ;

CREATE INDEX record_media_copy_due ON record_media (copy_due_at) WHERE copy_state = 'pending';

-- The bytes, when stored in Postgres (the default).
CREATE TABLE media_blobs (
    media_id BIGINT PRIMARY KEY REFERENCES record_media (id) ON DELETE CASCADE,
    bytes    BYTEA NOT NULL
);
ALTER TABLE media_blobs ALTER COLUMN bytes SET STORAGE EXTERNAL;

-- Wakes the media workers when a record brings new attachments.
CREATE FUNCTION record_media_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('record_media', '');
    RETURN NULL;
END $$;
CREATE TRIGGER record_media_inserted AFTER INSERT ON record_media
    FOR EACH STATEMENT EXECUTE FUNCTION record_media_notify();
