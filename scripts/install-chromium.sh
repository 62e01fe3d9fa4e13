#!/usr/bin/env bash
# Installs Debian's chromium for the console's end-to-end tests (test/e2e), if it is not there yet.
# Idempotent: does nothing when the packages are installed. The tests drive it with playwright-core,
# which never downloads a browser of its own.
set -euo pipefail
# fonts-wqy-microhei (5 MB): a Chinese font, so the zh-CN screenshots show characters, not boxes.
PACKAGES="chromium fonts-wqy-microhei"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ] && [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -o DPkg::Lock::Timeout=300
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 $missing
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
