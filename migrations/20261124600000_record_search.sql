-- Record pages and search (issue #11): full-text search over a record's
-- description, fields and author name, with a GIN index, and the orderings
-- the index page and the machine timeline read (newest first).
ALTER TABLE records ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english',
        description || ' ' || coalesce(author_name, '') || ' ' || coalesce(status, '')
        || ' ' || jsonb_path_query_array(fields, '$.*')::text)
) STORED;
CREATE INDEX records_search_idx ON records USING GIN (search);
CREATE INDEX records_occurred_idx ON records (occurred_at DESC, id DESC);
CREATE INDEX records_machine_occurred_idx ON records (machine_id, occurred_at DESC, id DESC);
