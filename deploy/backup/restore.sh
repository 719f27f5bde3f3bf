#!/bin/sh
# Restores a dump written by backup.sh, run by the restore Job: the file must match the
# checksum recorded beside it and read back as a pg_dump archive before anything is
# touched; then one transaction replaces the database's objects (a restore that fails
# half-way leaves the database as it was). With RESTORE_COPY, it restores into a new
# database of that name instead and changes nothing live.
#
# Settings (environment):
#   DATABASE_URL     the database to restore into (libpq URL); with RESTORE_COPY, any
#                    database on the server (the copy is created beside it)       required
#   BACKUP_DIR       where the dumps are kept                                     required
#   BACKUP_FILE      the dump's name in BACKUP_DIR                                required
#   RESTORE_COPY     restore into this new database (must not exist yet)          optional
#   EXPECTED_SHA256  the checksum the backup reported when it was made (Gantry passes the
#                    one it recorded): a file swapped with its .sha256 is refused too  optional
#   TERMINATION_LOG  where the report goes besides stdout           /dev/termination-log
# Exit status: 0 done; 1 settings; 3 the file is not the dump that was written; 4 the
# restore failed (nothing changed).
set -eu
LOG=${TERMINATION_LOG:-/dev/termination-log}
here=$(dirname "$0")
# shellcheck source=report.sh
. "$here/report.sh"

[ -n "${DATABASE_URL:-}" ] || fail 1 "DATABASE_URL is not set"
[ -n "${BACKUP_DIR:-}" ] || fail 1 "BACKUP_DIR is not set"
[ -n "${BACKUP_FILE:-}" ] || fail 1 "BACKUP_FILE is not set"
case $BACKUP_FILE in */*|.*) fail 1 "BACKUP_FILE must be a file name in BACKUP_DIR" ;; esac
file="$BACKUP_DIR/$BACKUP_FILE"
[ -f "$file" ] || fail 1 "there is no backup $BACKUP_FILE in $BACKUP_DIR"
[ -f "$file.sha256" ] || fail 3 "$BACKUP_FILE has no recorded checksum: not a backup this job wrote"

expected=$(cut -d' ' -f1 "$file.sha256")
actual=$(sha256sum "$file" | cut -d' ' -f1)
[ "$expected" = "$actual" ] || fail 3 "checksum mismatch: $BACKUP_FILE is corrupt or was changed since it was written"
if [ -n "${EXPECTED_SHA256:-}" ] && [ "$EXPECTED_SHA256" != "$actual" ]; then
  fail 3 "checksum mismatch: $BACKUP_FILE is not the backup that was reported (sha256 $EXPECTED_SHA256)"
fi
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
if ! entries=$(pg_restore --list "$file" 2>"$errors" | grep -c -v '^;'); then
  fail 3 "$BACKUP_FILE does not read back as a pg_dump archive: $(tail -n 1 "$errors")"
fi

target=$DATABASE_URL
if [ -n "${RESTORE_COPY:-}" ]; then
  case $RESTORE_COPY in *[!A-Za-z0-9_]*) fail 1 "RESTORE_COPY may hold letters, digits and '_' only" ;; esac
  # PostgreSQL would cut a longer name short without a word: refuse it instead.
  [ "${#RESTORE_COPY}" -le 63 ] || fail 1 "RESTORE_COPY is longer than PostgreSQL's 63 characters"
  if ! psql --no-password -v ON_ERROR_STOP=1 -q -c "create database \"$RESTORE_COPY\"" "$DATABASE_URL" 2>"$errors"; then
    fail 4 "cannot create the copy $RESTORE_COPY: $(tail -n 1 "$errors" | sed 's/^psql: //')"
  fi
  # The same server and credentials, another database: libpq takes the last dbname given.
  target="$(printf '%s' "$DATABASE_URL" | sed 's#^\(postgres[a-z]*://[^/]*\)/[^?]*#\1/'"$RESTORE_COPY"'#')"
fi
if ! pg_restore --no-password --clean --if-exists --single-transaction --exit-on-error \
    --no-owner --dbname="$target" "$file" 2>"$errors"; then
  fail 4 "pg_restore: $(grep -m 1 'error' "$errors" | sed 's/^pg_restore: //') (nothing was changed)"
fi
report restored "$BACKUP_FILE" sha256 "$actual" entries "=$entries" \
  database "$(psql --no-password -tA -c 'select current_database()' "$target")"
