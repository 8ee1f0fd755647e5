#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# creates the runtime role the web, worker and beat processes connect as. It owns nothing, so
# it can neither alter the audit trail's table nor lift its triggers; `manage.py migrate`
# (run as the owner by the compose `migrate` service) grants it what it may do
# (helpdesk/db_roles.py).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="${APP_DB_USER:-helpdesk_app}" -v password="${APP_DB_PASSWORD:?set APP_DB_PASSWORD}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE', :'role', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')
\gexec
SQL
