#!/usr/bin/env bash
# The README's test command: install SmartZone with its test extras and run the whole suite.
# Needs the Debian packages in packaging/debian-packages.txt (see README); without Qt's X
# libraries the real-window test skips, naming them (CI sets SZ_REQUIRE_XCB=1 so it fails).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check ".[test]"
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
exec python3 -m pytest -q "$@"
