"""Package layout (the rest of the metadata is in pyproject.toml).

The gui/ folder installs under the import name `smartzone_gui`, so the wheel adds no
generic top-level name; the shipped devices/ and scenarios/ YAML travel inside the
`smartzone._builtin` package (symlinks in the source tree, copies in the wheel).
"""

from setuptools import find_packages, setup

core = find_packages(include=["smartzone", "smartzone.*"])
gui = ["smartzone_gui" + name[len("gui"):] for name in find_packages(include=["gui", "gui.*"])]

setup(packages=core + gui, package_dir={"smartzone_gui": "gui"})
