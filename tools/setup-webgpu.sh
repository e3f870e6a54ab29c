#!/usr/bin/env bash
# Installs a Vulkan driver that Dawn (the npm `webgpu` package) can use on Linux without a GPU:
# Mesa's software rasteriser lavapipe. Bookworm's stock Mesa (22.3) is too old for Dawn, so the
# loader and drivers come from bookworm-backports. Idempotent; run as root.
set -euo pipefail

if [[ "$(uname -s)" != "Linux" ]]; then
  echo "setup-webgpu: not Linux; nothing to do (use the platform's own GPU driver)"
  exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
  echo "setup-webgpu: must run as root (it uses apt)" >&2
  exit 1
fi

# The lavapipe ICD manifest ships with mesa-vulkan-drivers; a backports Mesa (>= 24) is what Dawn needs.
mesa_version="$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
loader_status="$(dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null || true)"
if [[ "$mesa_version" == "install ok installed "* && "$loader_status" == "install ok installed" ]]; then
  installed="${mesa_version##* }"
  if dpkg --compare-versions "$installed" ge 24; then
    echo "setup-webgpu: mesa-vulkan-drivers $installed and libvulkan1 already installed"
    exit 0
  fi
fi

codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
if [[ "$codename" != "bookworm" ]]; then
  # Newer Debian/Ubuntu releases ship a recent enough Mesa in their main archive.
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libvulkan1 mesa-vulkan-drivers
  exit 0
fi

backports_list=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" >"$backports_list"
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  -t bookworm-backports libvulkan1 mesa-vulkan-drivers
echo "setup-webgpu: installed $(dpkg-query -W -f='mesa-vulkan-drivers ${Version}' mesa-vulkan-drivers)"
