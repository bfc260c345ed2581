#!/usr/bin/env bash
# The checks that keep the code clean (DESIGN.md 6): lint, format, types, dead code, layers. packaging/test.sh
# runs them before the tests, so CI fails on any of them. Needs the dev extras (pip install '.[dev]').
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ruff check"
python3 -m ruff check smartzone gui tests bench examples tools
echo "== ruff format --check"
python3 -m ruff format --check smartzone gui tests bench examples tools
echo "== mypy (smartzone/)"
python3 -m mypy
echo "== mypy (gui/, checked under its import name smartzone_gui)"
shim=$(mktemp -d) && trap 'rm -rf "$shim"' EXIT && ln -s "$PWD/gui" "$shim/smartzone_gui" && MYPYPATH="$shim" python3 -m mypy -p smartzone_gui
echo "== vulture (dead code; framework hooks are listed in pyproject.toml [tool.vulture])"
python3 -m vulture
echo "== import-linter (the layers of docs/architecture.md)"
lint-imports --no-cache
