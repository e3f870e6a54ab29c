#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (packages/backend-webgpu/src/browser.test.ts),
# which drive it with playwright-core; nothing downloads a browser of its own. Its WebGPU adapter
# is the SwiftShader it bundles. Idempotent; run as root.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "setup-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
  echo "setup-chromium: must run as root (it uses apt)" >&2
  exit 1
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
