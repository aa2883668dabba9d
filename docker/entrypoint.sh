#!/bin/sh
# The image's entry point: its first argument says what to run, so that one image serves every service
# (docker-compose.yml gives each its own `command:`) and the tools run beside them:
#   docker compose run --rm gateway link        the phone link, its QR code and the MQTT account
#   docker compose run --rm led-driver selftest  fade each LED once, then both off
# Each program runs in its service's folder, exactly as `npm start -w <service>` runs it, and replaces this shell
# (exec), so that it is the container's main process and gets `docker stop`'s SIGTERM itself.
set -eu
app=$(cd "$(dirname "$0")/.." && pwd)

run() {
  cd "$app/$1"
  shift
  exec node --max-semi-space-size=2 --max-opt=2 --no-concurrent-recompilation "$@"
}

usage() {
  cat <<'USAGE'
gravity-led image: docker run [options] gravity-led COMMAND [ARGUMENTS]
  broker       the MQTT broker
  gateway      the WebSocket gateway and the phone page
  led-driver   the LED driver (GPIO through pigpio or the kernel's PWM; simulated elsewhere)
  link         print the phone link with its QR code, the certificate's fingerprint and the MQTT account
  selftest     fade each LED up and down once, then turn both off (led-driver's settings)
  help         this text
Anything else runs as given (for example `sh`).
USAGE
}

command=${1:-help}
if [ "$#" -gt 0 ]; then shift; fi
case "$command" in
  broker | gateway | led-driver) run "$command" dist/main.js "$@" ;;
  link) run gateway dist/link.js "$@" ;;
  selftest) run led-driver dist/main.js selftest "$@" ;;
  help | --help | -h) usage ;;
  *) exec "$command" "$@" ;;
esac
