"""Strict YAML reading that remembers where every value came from.

PyYAML's defaults are lenient in ways that hurt authored files: duplicate keys silently
overwrite, `on`/`yes`/`no` become booleans (YAML 1.1), and `1e3` is read as a string.
This loader follows YAML 1.2 for booleans and floats, rejects duplicate keys, and keeps
a map from each field path to its (line, column) so that schema errors can point at the
exact place in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from smartzone.definitions.errors import DefinitionError

PathKey = tuple[str | int, ...]

_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_TRUNCATION_HINTS = ("end of stream", "end of the stream", "<stream end>", "could not find expected")
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars."""


# Replace YAML 1.1 implicit resolvers for bool/int/float with YAML 1.2 core ones.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] not in {"bool", "int", "float"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfF"))
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT_RE, list("-+0123456789"))
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


@dataclass
class SourceDoc:
    """A parsed YAML document plus where each of its values sits in the file."""

    file: str
    data: Any
    marks: dict[PathKey, tuple[int, int]]

    def locate(self, path: PathKey) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the deepest known prefix of *path*."""
        for end in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark is not None:
                return mark
        return None, None


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, file: str, loader: _StrictLoader) -> None:
        self.file = file
        self.loader = loader
        self.marks: dict[PathKey, tuple[int, int]] = {}

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)):
                    line, col = _mark(key_node)
                    raise DefinitionError.single(
                        self.file,
                        "mapping keys must be plain scalars",
                        line=line,
                        column=col,
                        path=_dotted(path),
                    )
                if key in result:
                    line, col = _mark(key_node)
                    raise DefinitionError.single(
                        self.file,
                        f"duplicate key '{key}' (first defined on line {self.marks[(*path, str(key))][0]})",
                        line=line,
                        column=col,
                        path=_dotted((*path, str(key))),
                    )
                child = (*path, str(key))
                result[key] = self.build(value_node, child)
                self.marks[child] = _mark(key_node)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted_path = _dotted


def parse_yaml(text: str, file: str) -> SourceDoc:
    """Parse one YAML document strictly; raise DefinitionError with a position on failure."""
    if not text.strip():
        raise DefinitionError.single(file, "file is empty (expected a YAML mapping)", line=1, column=1)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise DefinitionError.single(file, "file has no YAML content (expected a mapping)", line=1, column=1)
        builder = _Builder(file, loader)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        if "\t" in problem or "'\\t'" in problem:
            problem = "tab character used for indentation (YAML allows spaces only)"
        elif any(m in problem for m in _TRUNCATION_HINTS):
            problem = f"{problem} (is the file truncated or a bracket/quote left open?)"
        raise DefinitionError.single(file, f"not valid YAML: {problem}", line=line, column=col) from None
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise DefinitionError.single(file, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise DefinitionError.single(
            file, f"expected a YAML mapping at the top level, found {type(data).__name__}", line=1, column=1
        )
    return SourceDoc(file, data, builder.marks)


def read_yaml(path: Path | str, display: str | None = None) -> SourceDoc:
    """Read and parse a YAML file; unreadable or non-UTF-8 files give a DefinitionError."""
    p = Path(path)
    name = display or str(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DefinitionError.single(name, f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError.single(name, f"not a UTF-8 text file (byte {exc.start}); expected YAML") from None
    if "\x00" in text:
        raise DefinitionError.single(name, "binary file (contains NUL bytes); expected YAML", line=1, column=1)
    return parse_yaml(text, name)
