#!/usr/bin/env bash
# Regenerates protocol/generated/ from protocol/schema/shardline.fbs with Debian's flatc 2.0.8.
# --ts-flat-files is required: the multi-file output uses extensionless relative imports,
# which NodeNext rejects (TS2835).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/generated}
command -v flatc >/dev/null || { echo "flatc not found: apt-get install flatbuffers-compiler" >&2; exit 1; }
mkdir -p "$out"
flatc --ts --ts-flat-files -o "$out" "$here/schema/shardline.fbs"
