#!/usr/bin/env bash
# Read-API latency and verification throughput of `preflight serve`:
# GET /api/v1/changes/{id} at 200 requests/s for 10 s on loopback (p50,
# p99; target p99 < 50 ms), then 30 checks of the shop example queued at
# once (checks per minute, 2 workers). Embedded SQLite by default; set
# PREFLIGHT_LOAD_DSN to a postgres:// URL to run on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFLIGHT_LOAD=1 go test ./server -run '^TestLoad$' -count=1 -v | grep -E 'GET|verification|ok|FAIL|---'
