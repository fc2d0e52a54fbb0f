#!/usr/bin/env bash
# Runs the installed ci-medic with the action's `command` and `args` inputs,
# split on whitespace and passed as arguments: never evaluated by a shell.
set -euo pipefail
bin="${CI_MEDIC_BIN:-ci-medic}"
read -r -a command <<<"${CI_MEDIC_COMMAND:-}"
read -r -a extra <<<"${CI_MEDIC_ARGS:-}"
if [ "${#command[@]}" -eq 0 ]; then
  echo "ci-medic action: no command given" >&2
  exit 2
fi
# Empty agent settings mean "not set", not "set to nothing".
[ -n "${CI_MEDIC_AGENT_URL:-}" ] || unset CI_MEDIC_AGENT_URL
[ -n "${CI_MEDIC_AGENT_TOKEN:-}" ] || unset CI_MEDIC_AGENT_TOKEN
# (the ${x[@]+...} form keeps bash 3.2, macOS's, from calling an empty array unbound)
exec "$bin" "${command[@]}" ${extra[@]+"${extra[@]}"}
