-- The machines overview counts every machine's open records: on a long
-- history that is most of what the page costs. Each process keeps the
-- result it computed under this counter (records::browse::OverviewCache)
-- and reuses it while the counter has not moved.
--
-- Every transaction that changes what the overview shows (a machine; a
-- record's machine, kind, status, fields or time; a record added or
-- removed) adds one, in that same transaction, so a reader that finds the
-- counter where it was has missed no change, whichever process or replica
-- made it. The bump is a deferred trigger: the row is locked from the
-- commit's start to its end, not for the whole transaction, and a
-- transaction-local setting makes it once per transaction however many rows
-- it wrote.
CREATE TABLE browse_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL
);
INSERT INTO browse_version (version) VALUES (0);

CREATE FUNCTION bump_browse_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('flipfix.browse_version_bumped', true) IS DISTINCT FROM 'yes' THEN
        UPDATE browse_version SET version = version + 1;
        PERFORM set_config('flipfix.browse_version_bumped', 'yes', true);
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER records_bump_browse_version
    AFTER INSERT OR DELETE OR UPDATE OF machine_id, kind, status, fields, occurred_at
    ON records DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_browse_version();

CREATE CONSTRAINT TRIGGER machines_bump_browse_version
    AFTER INSERT OR DELETE OR UPDATE OF slug, name, status
    ON machines DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_browse_version();

-- TRUNCATE has no row triggers (and cannot be deferred): bump at once.
CREATE TRIGGER records_truncate_bumps_browse_version
    AFTER TRUNCATE ON records
    FOR EACH STATEMENT EXECUTE FUNCTION bump_browse_version();

CREATE TRIGGER machines_truncate_bumps_browse_version
    AFTER TRUNCATE ON machines
    FOR EACH STATEMENT EXECUTE FUNCTION bump_browse_version();
