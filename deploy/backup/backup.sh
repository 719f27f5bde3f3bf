#!/bin/sh
# A database backup that proves itself, run by the backup CronJob (and "Back up now"):
# dump to a temporary name, check the dump reads back as a pg_dump archive with entries,
# refuse one below a size floor, checksum it, move it into place in one step, apply
# retention, and report one line of JSON — as the container's termination message, which
# Gantry reads from the pod's status (no log access, no mount of the backup volume).
#
# Settings (environment):
#   DATABASE_URL      the database to dump (libpq URL)                         required
#   BACKUP_DIR        where the dumps are kept                                 required
#   BACKUP_PREFIX     start of every dump's name                               co2
#   JOB_NAME          this run's Job (its name ends the file name: two runs never collide)
#   BACKUP_MIN_BYTES  a dump smaller than this is refused as empty              4096
#   BACKUP_RETAIN     how many dumps are kept (the newest)                     14
#   TERMINATION_LOG   where the report goes besides stdout       /dev/termination-log
# Exit status: 0 done; 1 settings; 2 pg_dump failed; 3 the dump is not a good archive.
set -eu
PREFIX=${BACKUP_PREFIX:-co2}
MIN_BYTES=${BACKUP_MIN_BYTES:-4096}
RETAIN=${BACKUP_RETAIN:-14}
LOG=${TERMINATION_LOG:-/dev/termination-log}
JOB=${JOB_NAME:-manual}

here=$(dirname "$0")
# shellcheck source=report.sh
. "$here/report.sh"

[ -n "${DATABASE_URL:-}" ] || fail 1 "DATABASE_URL is not set"
[ -n "${BACKUP_DIR:-}" ] || fail 1 "BACKUP_DIR is not set"
[ -d "$BACKUP_DIR" ] || fail 1 "BACKUP_DIR $BACKUP_DIR is not a folder"
case $PREFIX$JOB in *[!A-Za-z0-9._-]*) fail 1 "BACKUP_PREFIX and JOB_NAME may hold letters, digits, '.', '_' and '-' only" ;; esac
case $MIN_BYTES$RETAIN in *[!0-9]*) fail 1 "BACKUP_MIN_BYTES and BACKUP_RETAIN must be whole numbers" ;; esac
[ "$RETAIN" -ge 1 ] || fail 1 "BACKUP_RETAIN must be at least 1"

name="$PREFIX-$(date -u +%Y%m%dT%H%M%SZ)-$JOB.dump"
final="$BACKUP_DIR/$name"
partial="$final.partial"
errors="$BACKUP_DIR/.$name.err"
# Whatever happens, no half-written dump is left under any name.
trap 'rm -f "$partial" "$errors"' EXIT
trap 'exit 130' INT TERM

if ! pg_dump --format=custom --no-password --file="$partial" "$DATABASE_URL" 2>"$errors"; then
  fail 2 "pg_dump: $(tail -n 3 "$errors" | sed 's/^pg_dump: //' | tr '\n' ' ' | sed 's/ *$//')"
fi
if ! entries=$(pg_restore --list "$partial" 2>"$errors" | grep -c -v '^;'); then
  fail 3 "the dump does not read back as an archive: $(tail -n 1 "$errors")"
fi
bytes=$(wc -c < "$partial" | tr -d ' ')
[ "$bytes" -ge "$MIN_BYTES" ] || fail 3 "empty dump refused: $bytes bytes, below the floor of $MIN_BYTES"
[ "$entries" -gt 0 ] || fail 3 "empty dump refused: no entries"
sha256=$(sha256sum "$partial" | cut -d' ' -f1)
dump_version=$(pg_dump --version)
server_version=$(pg_restore --list "$partial" | sed -n 's/^;[[:space:]]*Dumped from database version: //p')
printf '%s  %s\n' "$sha256" "$name" > "$final.sha256"
mv "$partial" "$final"

# Retention: the newest dumps of this prefix (names sort by their time).
kept=$(cd "$BACKUP_DIR" && ls -1 -- "$PREFIX"-*.dump 2>/dev/null | sort -r)
n=0 retained=''
for f in $kept; do
  n=$((n + 1))
  if [ "$n" -le "$RETAIN" ]; then
    # The newest 20 by name (a termination message holds 4 KB); all of them counted.
    [ "$n" -gt 20 ] || retained="$retained${retained:+,}\"$f\""
  else
    rm -f "$BACKUP_DIR/$f" "$BACKUP_DIR/$f.sha256"
  fi
done
report file "$name" location "$BACKUP_DIR" bytes "=$bytes" sha256 "$sha256" entries "=$entries" \
  pg_dump_version "$dump_version" server_version "$server_version" retained "@[$retained]" \
  retained_count "=$(( n < RETAIN ? n : RETAIN ))"
