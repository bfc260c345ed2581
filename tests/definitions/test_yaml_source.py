"""The strict YAML reader: YAML 1.2 scalars, duplicate keys, positions."""

from __future__ import annotations

import pytest

from smartzone.definitions.errors import DefinitionError
from smartzone.definitions.yaml_source import parse_yaml


def test_yaml_1_2_scalars() -> None:
    doc = parse_yaml("country: NO\nflag: on\nbig: 1e3\nyes_: yes\nt: true\nhex: 0x10\n", "f.yaml")
    assert doc.data == {"country": "NO", "flag": "on", "big": 1000.0, "yes_": "yes", "t": True, "hex": 16}


def test_positions_of_nested_fields() -> None:
    doc = parse_yaml("a:\n  b:\n    - x: 1\n      y: 2\n", "f.yaml")
    assert doc.locate(("a", "b", 0, "y")) == (4, 7)
    assert doc.locate(("a", "b", 0, "missing")) == (3, 7)


def test_duplicate_keys_are_rejected_in_nested_maps() -> None:
    with pytest.raises(DefinitionError) as info:
        parse_yaml("a:\n  b: 1\n  b: 2\n", "f.yaml")
    assert str(info.value) == "f.yaml:3:3: a.b: duplicate key 'b' (first defined on line 2)"


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(DefinitionError, match="expected a YAML mapping at the top level, found list"):
        parse_yaml("- 1\n- 2\n", "f.yaml")
