-- The machine timeline reads a page of roots by position (keyset): the
-- machine's records newest first from a cursor, skipping those whose parent
-- the viewer can see. Carrying kind and parent_id in the index lets that
-- scan read the index alone (no heap visit per candidate); it replaces the
-- narrower index of the same key.
CREATE INDEX records_machine_timeline_idx
    ON records (machine_id, occurred_at DESC, id DESC) INCLUDE (kind, parent_id);
DROP INDEX records_machine_occurred_idx;
