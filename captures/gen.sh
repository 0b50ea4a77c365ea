#!/usr/bin/env bash
# Regenerates the gen-*.pcap captures with `pktlab gen` (deterministic: same bytes
# every run). tests/gen.rs runs these same commands and compares byte for byte.
set -euo pipefail
cd "$(dirname "$0")"
pk=${PKTLAB:-../target/release/pktlab}
while read -r name args; do
  [ -z "$name" ] && continue
  # shellcheck disable=SC2086
  "$pk" gen $args -w "$name"
done < gen.list
