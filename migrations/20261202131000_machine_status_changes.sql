-- Every change of a machine's operational status (issue #23): who caused
-- it (Discord id and unique username, or another path's actor), when by the
-- app's clock, from and to what, the record that caused it (an unplayable
-- report) and the "Status changed: Good → Broken" log entry it wrote.
CREATE TABLE machine_status_changes (
    id                    BIGSERIAL PRIMARY KEY,
    machine_id            BIGINT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    from_status           TEXT NOT NULL,
    to_status             TEXT NOT NULL,
    changed_at            TIMESTAMPTZ NOT NULL,
    changed_by_discord_id BIGINT,
    changed_by            TEXT,
    via_record_id         BIGINT REFERENCES records (id) ON DELETE SET NULL,
    entry_record_id       BIGINT REFERENCES records (id) ON DELETE SET NULL,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX machine_status_changes_machine_idx ON machine_status_changes (machine_id, changed_at, id);
