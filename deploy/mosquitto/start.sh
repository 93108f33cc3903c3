#!/bin/sh
# Entry point of the compose stack's Mosquitto (docker-compose.yml runs it with sh). Writes the
# password file from MQTT_USERNAME and MQTT_PASSWORD and the access settings that
# mosquitto.conf includes, then starts the broker through the image's own entry point.
# The password file lives inside the container, rewritten on every start: changing
# MQTT_PASSWORD in .env and recreating the container is all a password change takes.
set -eu

: "${MQTT_USERNAME:?MQTT_USERNAME is empty}"
: "${MQTT_PASSWORD:?MQTT_PASSWORD is empty: set it in .env (see .env.example)}"
case "${MOSQUITTO_ALLOW_ANONYMOUS:-false}" in
  true | false) ;;
  *)
    echo "start.sh: MOSQUITTO_ALLOW_ANONYMOUS must be true or false" >&2
    exit 1
    ;;
esac

auth=/mosquitto/auth
mkdir -p "$auth"
rm -f "$auth/passwd"
(umask 077 && mosquitto_passwd -c -b "$auth/passwd" "$MQTT_USERNAME" "$MQTT_PASSWORD")
cat > "$auth/access.conf" <<CONF
# Written by start.sh on every start.
password_file $auth/passwd
allow_anonymous ${MOSQUITTO_ALLOW_ANONYMOUS:-false}
CONF
# The broker drops root and reads these files as the mosquitto user.
chown -R mosquitto:mosquitto "$auth"
chmod 0700 "$auth"

exec /docker-entrypoint.sh /usr/sbin/mosquitto -c /mosquitto/config/mosquitto.conf
