#!/bin/sh
# Proves a dump written by backup.sh can be restored, run by the verify CronJob: the
# checksum recorded beside it, that it reads back as a pg_dump archive with entries, and —
# with DATABASE_URL — a real restore into a scratch database created for it beside the live
# one (dropped afterwards, whatever happens), timed, with the rows of every table counted.
# Reports one line of JSON, as backup.sh does.
#
# Settings (environment):
#   BACKUP_DIR       where the dumps are kept                                     required
#   BACKUP_FILE      the dump's name in BACKUP_DIR            the newest BACKUP_PREFIX-*.dump
#   BACKUP_PREFIX    start of every dump's name                                   co2
#   DATABASE_URL     a database on the server the scratch copy is made on (libpq URL);
#                    unset: the checksum and the archive are checked, nothing is restored
#   VERIFY_DATABASE  the scratch database's name (must not exist)      gantry_verify_<time>
#   TERMINATION_LOG  where the report goes besides stdout           /dev/termination-log
# Exit status: 0 good; 1 settings; 3 the file is not the dump that was written; 4 it does
# not restore.
set -eu
LOG=${TERMINATION_LOG:-/dev/termination-log}
PREFIX=${BACKUP_PREFIX:-co2}
here=$(dirname "$0")
# shellcheck source=report.sh
. "$here/report.sh"
[ -n "${BACKUP_DIR:-}" ] || fail 1 "BACKUP_DIR must be set"
case $PREFIX in *[!A-Za-z0-9._-]*) fail 1 "BACKUP_PREFIX may hold letters, digits, '.', '_' and '-' only" ;; esac
if [ -z "${BACKUP_FILE:-}" ]; then
  # Names begin with their UTC time: the last by name is the newest.
  BACKUP_FILE=$(cd "$BACKUP_DIR" && ls -1 -- "$PREFIX"-*.dump 2>/dev/null | sort | tail -n 1)
  [ -n "$BACKUP_FILE" ] || fail 1 "there is no backup $PREFIX-*.dump in $BACKUP_DIR to verify"
fi
case $BACKUP_FILE in */*|.*) fail 1 "BACKUP_FILE must be a file name in BACKUP_DIR" ;; esac
file="$BACKUP_DIR/$BACKUP_FILE"
[ -f "$file" ] || fail 1 "there is no backup $BACKUP_FILE in $BACKUP_DIR"
[ -f "$file.sha256" ] || fail 3 "$BACKUP_FILE has no recorded checksum: not a backup this job wrote"
actual=$(sha256sum "$file" | cut -d' ' -f1)
[ "$(cut -d' ' -f1 "$file.sha256")" = "$actual" ] || fail 3 "checksum mismatch: $BACKUP_FILE is corrupt or was changed since it was written"
entries=$(pg_restore --list "$file" 2>/dev/null | grep -c -v '^;') || fail 3 "$BACKUP_FILE does not read back as a pg_dump archive"
[ "$entries" -gt 0 ] || fail 3 "$BACKUP_FILE holds no entries"
bytes=$(wc -c < "$file" | tr -d ' ')
if [ -z "${DATABASE_URL:-}" ]; then
  report verified "$BACKUP_FILE" sha256 "$actual" entries "=$entries" bytes "=$bytes" restored "=false"
  exit 0
fi

scratch=${VERIFY_DATABASE:-gantry_verify_$(date -u +%Y%m%d%H%M%S)}
case $scratch in *[!A-Za-z0-9_]*) fail 1 "VERIFY_DATABASE may hold letters, digits and '_' only" ;; esac
[ "${#scratch}" -le 63 ] || fail 1 "VERIFY_DATABASE is longer than PostgreSQL's 63 characters"
errors=$(mktemp)
created=''
# The scratch copy never outlives the check.
cleanup() {
  if [ -n "$created" ]; then
    psql --no-password -q -c "drop database if exists \"$scratch\"" "$DATABASE_URL" >/dev/null 2>&1 || true
  fi
  rm -f "$errors"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if ! psql --no-password -v ON_ERROR_STOP=1 -q -c "create database \"$scratch\"" "$DATABASE_URL" 2>"$errors"; then
  fail 4 "cannot create the scratch database $scratch: $(tail -n 1 "$errors" | sed 's/^psql: //')"
fi
created=yes
# The same server and credentials, another database.
target="$(printf '%s' "$DATABASE_URL" | sed 's#^\(postgres[a-z]*://[^/]*\)/[^?]*#\1/'"$scratch"'#')"
started=$(date +%s%N)
if ! pg_restore --no-password --single-transaction --exit-on-error --no-owner \
    --dbname="$target" "$file" 2>"$errors"; then
  fail 4 "$BACKUP_FILE does not restore: $(grep -m 1 'error' "$errors" | sed 's/^pg_restore: //')"
fi
ended=$(date +%s%N)
millis=$(( (ended - started) / 1000000 ))
# Every table's rows, counted exactly; the largest ten named (a report is at most 4 KB),
# as JSON PostgreSQL writes itself (a table's name may hold any character).
counted=$(psql --no-password -tA -F '|' "$target" 2>"$errors" <<'SQL'
with counts as (
  select format('%I.%I', schemaname, relname) as name,
         (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I.%I', schemaname, relname), false, true, '')))[1]::text::bigint as n
  from pg_stat_user_tables)
select count(*), coalesce(sum(n), 0),
       coalesce((select json_object_agg(name, n) from (select name, n from counts order by n desc, name limit 10) top), '{}')
from counts
SQL
) || fail 4 "$BACKUP_FILE restored, but its tables cannot be counted: $(tail -n 1 "$errors")"
tables=$(printf '%s' "$counted" | cut -d'|' -f1)
rows=$(printf '%s' "$counted" | cut -d'|' -f2)
largest=$(printf '%s' "$counted" | cut -d'|' -f3- | tr -d '\n')
report verified "$BACKUP_FILE" sha256 "$actual" entries "=$entries" bytes "=$bytes" restored "=true" \
  restore_ms "=$millis" tables "=$tables" rows "=$rows" largest "@$largest"
