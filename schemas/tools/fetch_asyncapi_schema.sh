#!/usr/bin/env bash
# Fetch the official AsyncAPI 3.0.0 JSON Schema (from the @asyncapi/specs npm package) into
# an ignored cache, verify it, and print its path. Idempotent: a verified copy is reused.
#
#   schemas/tools/fetch_asyncapi_schema.sh [cache-dir]     (default: .state/asyncapi)
#
# The tests validate schemas/exports/asyncapi.json against it. Nothing is vendored.
set -euo pipefail

VERSION="6.11.1"
TARBALL_SHA256="01af8744dc33c0c7eb2e908f6a955319ee58b70ecadc9387d1aeb16c0cd28928"
SCHEMA_SHA256="d4571a420e6ffb7fcc7066c95a6db1202f299a3c51daa103d0706bf30f95e626"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${1:-$root/.state/asyncapi}"
target="$cache/specs-$VERSION/3.0.0.json"

if [[ -f "$target" ]] && echo "$SCHEMA_SHA256  $target" | sha256sum --check --status; then
    echo "$target"
    exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "@asyncapi/specs@$VERSION" --silent >/dev/null)
tarball="$work/asyncapi-specs-$VERSION.tgz"
echo "$TARBALL_SHA256  $tarball" | sha256sum --check --status \
    || { echo "checksum mismatch for @asyncapi/specs@$VERSION" >&2; exit 1; }
tar -xzf "$tarball" -C "$work" package/schemas/3.0.0.json
mkdir -p "$(dirname "$target")"
mv "$work/package/schemas/3.0.0.json" "$target"
echo "$SCHEMA_SHA256  $target" | sha256sum --check --status \
    || { echo "checksum mismatch for 3.0.0.json" >&2; exit 1; }
echo "$target"
