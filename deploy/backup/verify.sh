#!/bin/sh
# Checks a dump written by backup.sh without restoring it: the checksum recorded beside
# it, and that it reads back as a pg_dump archive with entries. Reports one line of JSON.
#   BACKUP_DIR, BACKUP_FILE as for restore.sh; TERMINATION_LOG (/dev/termination-log)
# Exit status: 0 good; 1 settings; 3 the file is not the dump that was written.
set -eu
LOG=${TERMINATION_LOG:-/dev/termination-log}
here=$(dirname "$0")
# shellcheck source=report.sh
. "$here/report.sh"
[ -n "${BACKUP_DIR:-}" ] && [ -n "${BACKUP_FILE:-}" ] || fail 1 "BACKUP_DIR and BACKUP_FILE must be set"
case $BACKUP_FILE in */*|.*) fail 1 "BACKUP_FILE must be a file name in BACKUP_DIR" ;; esac
file="$BACKUP_DIR/$BACKUP_FILE"
[ -f "$file" ] || fail 1 "there is no backup $BACKUP_FILE in $BACKUP_DIR"
[ -f "$file.sha256" ] || fail 3 "$BACKUP_FILE has no recorded checksum: not a backup this job wrote"
actual=$(sha256sum "$file" | cut -d' ' -f1)
[ "$(cut -d' ' -f1 "$file.sha256")" = "$actual" ] || fail 3 "checksum mismatch: $BACKUP_FILE is corrupt or was changed since it was written"
entries=$(pg_restore --list "$file" 2>/dev/null | grep -c -v '^;') || fail 3 "$BACKUP_FILE does not read back as a pg_dump archive"
[ "$entries" -gt 0 ] || fail 3 "$BACKUP_FILE holds no entries"
report verified "$BACKUP_FILE" sha256 "$actual" entries "=$entries" bytes "=$(wc -c < "$file" | tr -d ' ')"
