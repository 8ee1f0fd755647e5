#!/bin/sh
# Runs privacyIDEA 3.14 for trying the helpdesk against it (docker compose --profile
# privacyidea). Not a production setup: SQLite, no TLS, one process. State lives in
# /srv/privacyidea (a volume); the first start installs privacyIDEA into its own virtualenv,
# creates the keys, the tables, an admin for setup (pi-admin) and the helpdesk's service
# account (helpdesk-svc), and imports the helpdesk's least-privilege policies.
set -eu
STATE=/srv/privacyidea
VENV="$STATE/venv"
export PRIVACYIDEA_CONFIGFILE="$STATE/pi.cfg"
if [ ! -x "$VENV/bin/pi-manage" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "privacyIDEA==3.14"
fi
if [ ! -f "$PRIVACYIDEA_CONFIGFILE" ]; then
  secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  pepper=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  cat > "$PRIVACYIDEA_CONFIGFILE" <<CFG
SQLALCHEMY_DATABASE_URI = 'sqlite:///$STATE/privacyidea.sqlite'
SECRET_KEY = '$secret'
PI_PEPPER = '$pepper'
PI_ENCFILE = '$STATE/enckey'
PI_AUDIT_KEY_PRIVATE = '$STATE/private.pem'
PI_AUDIT_KEY_PUBLIC = '$STATE/public.pem'
PI_LOGFILE = '$STATE/privacyidea.log'
CFG
  "$VENV/bin/pi-manage" setup create_enckey
  "$VENV/bin/pi-manage" setup create_audit_keys
  "$VENV/bin/pi-manage" setup create_tables
  "$VENV/bin/pi-manage" admin add pi-admin -p "${PI_ADMIN_PASSWORD:?set PI_ADMIN_PASSWORD}"
  "$VENV/bin/pi-manage" admin add helpdesk-svc -p "${PRIVACYIDEA_PASSWORD:?set PRIVACYIDEA_PASSWORD}"
fi
exec "$VENV/bin/pi-manage" run -h 0.0.0.0 -p 5001
