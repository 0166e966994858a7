#!/usr/bin/env bash
# Fails when the committed generated code differs from what flatc produces from the schema.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/scripts/gen.sh" "$tmp"
if ! diff -r "$here/generated" "$tmp"; then
  echo "protocol/generated is stale: run npm run gen:protocol and commit the result" >&2
  exit 1
fi
echo "protocol/generated matches the schema"
