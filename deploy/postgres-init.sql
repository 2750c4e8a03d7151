-- Runs once, when the postgresql service of docker-compose.temporal.yml initialises an empty data
-- volume (the image runs /docker-entrypoint-initdb.d/*.sql as the POSTGRES_USER superuser).
--
-- Temporal creates and migrates its own databases (temporal, temporal_visibility) in the
-- temporal-schema service. This script creates ticketsync's database and its own login role, so
-- ticketsync never connects as the superuser. The role's password comes from the container's
-- environment (POSTGRES_TICKETSYNC_PASSWORD, psql's \getenv) and is never written to this file.
--
-- To rerun it, remove the volume: docker compose -f docker-compose.temporal.yml down -v
\getenv ticketsync_password POSTGRES_TICKETSYNC_PASSWORD
\if :{?ticketsync_password}
\else
  -- Fail the initialisation (the image runs psql with ON_ERROR_STOP=1) instead of creating a
  -- role without a password.
  DO $$ BEGIN RAISE EXCEPTION 'POSTGRES_TICKETSYNC_PASSWORD is not set'; END $$;
\endif

CREATE ROLE ticketsync LOGIN PASSWORD :'ticketsync_password';
CREATE DATABASE ticketsync OWNER ticketsync;
REVOKE ALL ON DATABASE ticketsync FROM PUBLIC;
