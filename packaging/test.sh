#!/usr/bin/env bash
# The README's test command: install SmartZone with its test and dev extras, run the checks that
# keep the code clean (packaging/lint.sh: ruff, ruff format, mypy, vulture, import-linter), then the whole suite.
# Needs the Debian packages in packaging/debian-packages.txt (see README); without Qt's X
# libraries the real-window test skips, naming them (CI sets SZ_REQUIRE_XCB=1 so it fails).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check ".[test,dev]"
bash packaging/lint.sh
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
exec python3 -m pytest -q "$@"
