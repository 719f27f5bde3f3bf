# shellcheck shell=bash
# Sourced by the bench scripts: wrk_checked runs wrk with the given arguments and prints
# its report, and fails the bench when any response was not a success or any connection
# broke (a handler that panics drops its connection: wrk counts a read error, not a
# status). A figure is only worth reporting when every view was answered.
wrk_checked() {
  local out
  out=$(wrk "$@" 2>&1)
  local broken bad
  broken=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  if [ -n "$bad" ] || [ "${broken:-0}" != 0 ]; then
    echo "bench: ${*: -1} answered ${bad:-0} errors and broke ${broken:-0} connections" >&2
    echo "$out" >&2
    return 1
  fi
  printf '%s\n' "$out"
}
