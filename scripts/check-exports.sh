#!/usr/bin/env bash
# Checks that a shared chromawal exports its public API and nothing else: every defined dynamic
# symbol must be in namespace chromawal:: but not in one of its internal namespaces (detail,
# chroma, http, json, wal, anonymous), or be the typeinfo, vtable or guard variable of such a
# name, or one of the few symbols every shared library has (_init, _fini, ...). No simdjson,
# fmt or std:: template instantiations. Prints the offenders and exits non-zero when there is
# any.
#
# Usage: scripts/check-exports.sh path/to/libchromawal.so [--list]
#        --list   also print every exported symbol
set -euo pipefail

die() { echo "check-exports.sh: error: $*" >&2; exit 2; }
lib=${1:-}
[ -n "$lib" ] || die "usage: scripts/check-exports.sh path/to/libchromawal.so [--list]"
[ -f "$lib" ] || die "no such file: $lib"
command -v nm >/dev/null || die "nm not found (binutils)"

# "address type name" -> "name", without a symbol version suffix (name@@VERSION). One line per
# dynamic symbol (a constructor's C1 and C2 symbols demangle to the same name: two lines).
all=$(nm -D --defined-only -C "$lib" | sed -E 's/^[0-9a-fA-F]* +[A-Za-z] +//; s/@@?[A-Za-z0-9_.]+$//' | sort)
[ -n "$all" ] || die "no exported symbol in $lib (not a shared library?)"
total=$(wc -l <<<"$all")

# Drop the allowed ones; what is left is exported but not public API.
bad=$(awk '
    /^(_init|_fini|_edata|_end|__bss_start)$/ { next }
    {
        name = $0
        sub(/^(typeinfo name for|typeinfo for|vtable for|VTT for|construction vtable for|guard variable for|non-virtual thunk to|virtual thunk to|covariant return thunk to) /, "", name)
        if (name ~ /^chromawal::/ && name !~ /^chromawal::(detail|chroma|http|json|wal|\(anonymous namespace\))::/) next
        print
    }' <<<"$all")
nbad=$(grep -c . <<<"$bad" || true)

if [ "${2:-}" = "--list" ]; then
    echo "$all"
fi
echo "check-exports.sh: $lib: $total exported symbols, $nbad not public API"

# The public API must be there: a function, and exceptions' typeinfo (so that users can catch them).
for required in 'chromawal::version()' 'typeinfo for chromawal::error' 'typeinfo for chromawal::invalid_argument'; do
    grep -qxF "$required" <<<"$all" || die "$required is not exported"
done

if [ "$nbad" -gt 0 ]; then
    echo "check-exports.sh: exported but not public API:" >&2
    sed 's/^/  /' <<<"$bad" >&2
    exit 1
fi
