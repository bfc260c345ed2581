"""Load device types and scenarios from YAML, with every problem located in the file.

Loading is all-or-nothing: a file with any problem raises DefinitionError listing each
problem as file:line:column, field path, expected and found. Nothing is half-applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from smartzone.definitions.errors import DefinitionError, Problem
from smartzone.definitions.yaml_source import PathKey, SourceDoc, dotted_path, read_yaml

M = TypeVar("M", bound=BaseModel)

_FRIENDLY = {
    "extra_forbidden": "unknown key '{key}'",
    "missing": "missing required field '{key}'",
}


def _clean_loc(doc: SourceDoc, loc: tuple[Any, ...]) -> PathKey:
    """Drop the union tags pydantic inserts into error locations (they are not in the file)."""
    path: list[str | int] = []
    node: Any = doc.data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and not isinstance(part, int) and part not in node and part == loc[-1]:
            path.append(part)  # a missing or extra key: keep it for the message
        # else: a tag such as 'random_walk' or 'str' that pydantic adds for unions
    return tuple(path)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems_from_validation(doc: SourceDoc, exc: ValidationError, prefix: PathKey = ()) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[PathKey, str]] = set()
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        path = _clean_loc(doc, loc)
        etype = err["type"]
        key = str(path[-1]) if path else ""
        if etype in _FRIENDLY:
            message = _FRIENDLY[etype].format(key=key)
            line, col = doc.locate(path if etype == "extra_forbidden" else path[:-1])
            shown = dotted_path(path)
        elif etype == "union_tag_invalid":
            ctx = err.get("ctx", {})
            message = (
                f"unknown {ctx.get('discriminator', 'kind').strip(chr(39))} {ctx.get('tag')!r}; "
                f"expected one of: {ctx.get('expected_tags')}"
            )
            path = (*path, "kind")
            line, col = doc.locate(path)
            shown = dotted_path(path)
        else:
            msg = err["msg"].removeprefix("Value error, ")
            found = "" if etype == "value_error" else f", found {_describe(err.get('input'))}"
            message = f"{msg[0].lower()}{msg[1:]}{found}"
            line, col = doc.locate(path)
            shown = dotted_path(path)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        out.append(Problem(doc.file, line, col, shown, message))
    return out


def validate_doc(doc: SourceDoc, model: type[M]) -> M:
    """Validate *doc* against *model*, turning pydantic errors into located problems."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise DefinitionError(problems_from_validation(doc, exc)) from None


def problem_at(doc: SourceDoc, path: PathKey, message: str) -> Problem:
    line, col = doc.locate(path)
    return Problem(doc.file, line, col, dotted_path(path), message)


def load_model(path: Path | str, model: type[M], display: str | None = None) -> tuple[M, SourceDoc]:
    doc = read_yaml(path, display)
    _check_schema_version(doc)
    return validate_doc(doc, model), doc


def _check_schema_version(doc: SourceDoc) -> None:
    version = doc.data.get("schema_version")
    if version is None:
        raise DefinitionError([problem_at(doc, (), "missing required field 'schema_version' (current: 1)")])
    if version != 1:
        raise DefinitionError(
            [problem_at(doc, ("schema_version",), f"unsupported schema_version {version!r}; this SmartZone reads 1")]
        )
