#!/usr/bin/env bash
# Prints the fenced code blocks of a Markdown file whose info string carries a tag, in order:
# docs/install.md marks its copy-paste snippets ```sh test=NAME and its example project's files
# ```cmake file=PATH, and scripts/test-packages.sh runs exactly that text.
#
# Usage: scripts/doc-snippets.sh FILE TAG       e.g.  scripts/doc-snippets.sh docs/install.md test=conan
# Exits non-zero when no block carries TAG.
set -euo pipefail
die() { echo "doc-snippets.sh: error: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: doc-snippets.sh FILE TAG"
[ -f "$1" ] || die "$1: no such file"
out=$(awk -v tag="$2" '
  /^```/ {
    if (inblock) { inblock = 0; grab = 0; next }
    inblock = 1; grab = 0
    n = split(substr($0, 4), w, " ")
    for (i = 2; i <= n; i++) if (w[i] == tag) grab = 1
    if (grab) found = 1
    next
  }
  grab { print }
  END { if (!found) exit 3 }' "$1") || die "$1: no fenced block tagged '$2'"
printf '%s\n' "$out"
