-- One login role per service, each creating and owning its own schema in the `packages`
-- database. Run by deploy/local/infra.sh and by the compose file's PostgreSQL on first start.
-- The passwords are local-development defaults: set real ones through DATABASE_URL elsewhere.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['catalog', 'assignment', 'charger', 'allowance'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', r, r);
    END IF;
    EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), r);
  END LOOP;
END $$;
