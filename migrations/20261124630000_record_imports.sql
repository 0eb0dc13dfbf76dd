-- Records imported from the original system's exports. The exports carry no
-- stable ids, so each entry is known by a digest of what identifies it (its
-- kind, parent, machine, time, authors and text; or its `id` when the export
-- has one): a second import of the same file finds every entry here and adds
-- nothing. The entry is kept as exported, so nothing the records table has no
-- column for (co-authors, photo file names) is lost.
CREATE TABLE record_imports (
    key         BYTEA PRIMARY KEY,
    record_id   BIGINT NOT NULL UNIQUE REFERENCES records (id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    original    JSONB NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
