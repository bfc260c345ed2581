#!/usr/bin/env bash
# The README's test command: install SmartZone with its test extras and run the whole suite.
# Needs the Debian packages mosquitto, mosquitto-clients, mbpoll and xvfb (see README); the real
# Qt window test also needs x11-utils, imagemagick and Qt's X libraries (the libxcb-* list in
# .ci/run and the README's GUI line) and skips, naming them, when they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check ".[test]"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
exec python3 -m pytest -q "$@"
