-- Duplicates and follow-ups (issue #12): trigram similarity between a new
-- suggestion and the open records of its machine, and the likely duplicate
-- a review item was shown with.
-- pg_trgm is a trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX records_description_trgm_idx ON records USING GIN (description gin_trgm_ops);

-- The best open record the suggestion looks like (record id, kind,
-- similarity, snippet), found before its card is shown; and, once the
-- person chose "Attach", the record it went onto instead of a new one.
ALTER TABLE review_items ADD COLUMN duplicate JSONB;
ALTER TABLE review_items ADD COLUMN attached_to BIGINT REFERENCES records (id);
