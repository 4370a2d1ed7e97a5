#!/usr/bin/env bash
# check_style.sh: the file rules of docs/style.md that a formatter cannot check — every C++ and
# TypeScript source at most MAX_LINES (400) lines, and every C++ file opening with
# `// NAME: what it is for`. Prints each file that breaks a rule; exits 1 if any does.
set -euo pipefail
cd "$(dirname "$0")/.."

max_lines=${MAX_LINES:-400}
status=0
while IFS= read -r f; do
  lines=$(wc -l <"$f")
  if ((lines > max_lines)); then
    echo "$f: $lines lines (at most $max_lines: split it by role)"
    status=1
  fi
  case "$f" in
  *.cpp | *.hpp)
    name=$(basename "$f")
    if ! head -n 1 "$f" | grep -q "^// $name: "; then
      echo "$f: does not open with '// $name: what it is for'"
      status=1
    fi
    ;;
  esac
done < <(git ls-files '*.cpp' '*.hpp' 'portal/src/*.ts' 'portal/src/*.tsx' 'portal/src/**/*.ts' 'portal/src/**/*.tsx')
exit $status
