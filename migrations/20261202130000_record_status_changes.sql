-- Every change of a record's status (issue #23): who changed it (their
-- Discord id and unique username, or the CLI/import actor), when by the
-- app's clock, from and to what, and through which record (the log entry
-- that closed a problem report, the update that marked a part received).
CREATE TABLE record_status_changes (
    id                    BIGSERIAL PRIMARY KEY,
    record_id             BIGINT NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    from_status           TEXT,
    to_status             TEXT NOT NULL,
    changed_at            TIMESTAMPTZ NOT NULL,
    changed_by_discord_id BIGINT,
    changed_by            TEXT,
    via_record_id         BIGINT REFERENCES records (id) ON DELETE SET NULL,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX record_status_changes_record_idx ON record_status_changes (record_id, changed_at, id);
CREATE INDEX record_status_changes_via_idx ON record_status_changes (via_record_id) WHERE via_record_id IS NOT NULL;
