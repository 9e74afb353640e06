#!/usr/bin/env bash
# Fails, listing them, if any Go file is not gofmt-formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$bad" ]; then
	echo "gofmt would change:" >&2
	echo "$bad" >&2
	exit 1
fi
