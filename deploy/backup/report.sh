# The one line of JSON each backup script ends with, on stdout and as the container's
# termination message ($LOG). Sourced by backup.sh, restore.sh and verify.sh.
#   json key value key value ...   values are JSON strings, except `=number` and `@json`
json() {
  out='{' sep=''
  while [ $# -ge 2 ]; do
    case $2 in
      =*) value=${2#=} ;;
      @*) value=${2#@} ;;
      *) value="\"$(printf '%s' "$2" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n\r\t')\"" ;;
    esac
    out="$out$sep\"$1\":$value" sep=','
    shift 2
  done
  printf '%s}\n' "$out"
}
report() { line=$(json "$@"); printf '%s\n' "$line"; printf '%s\n' "$line" > "$LOG" 2>/dev/null || true; }
fail() { code=$1; shift; report error "$*"; exit "$code"; }
