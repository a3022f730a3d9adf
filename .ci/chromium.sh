#!/usr/bin/env bash
# Installs Debian's chromium if it is missing, for the web UI's end-to-end
# test (server/e2e_test.go), which skips without it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=
if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
