-- The assignment in columns rather than one JSON document: a tick reads each due assignment,
-- a million for a big one, and decoding the JSON was the largest single cost left in the
-- charger. Its terms stay JSON text: a short list, mostly one entry that many assignments
-- share, decoded once per distinct text.
ALTER TABLE assignments
    ADD COLUMN did        text,
    ADD COLUMN package_id text,
    ADD COLUMN start_date date,
    ADD COLUMN end_date   date,
    ADD COLUMN timezone   text,
    ADD COLUMN terms      text;

UPDATE assignments SET
    did        = state->>'did',
    package_id = state->>'package_id',
    start_date = (state->>'start_date')::date,
    end_date   = (state->>'end_date')::date,
    timezone   = state->>'timezone',
    terms      = (state->'terms')::text;

ALTER TABLE assignments
    ALTER COLUMN package_id SET NOT NULL,
    ALTER COLUMN start_date SET NOT NULL,
    ALTER COLUMN timezone   SET NOT NULL,
    ALTER COLUMN terms      SET NOT NULL,
    DROP COLUMN state;
