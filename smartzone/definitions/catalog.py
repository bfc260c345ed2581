"""The device-type catalog and scenario loading, with cross-reference checks.

Schema validation (pydantic) checks each structure; this module checks what links them:
a signal refers to an earlier signal or a declared state variable, a fleet to a known
device type, tenant and district, a grant to a real tenant, and so on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartzone.definitions import series
from smartzone.definitions.base import REF_RE
from smartzone.definitions.bridged_checks import check_bridged
from smartzone.definitions.device_type import DeviceType
from smartzone.definitions.errors import DefinitionError, Problem
from smartzone.definitions.loader import load_model, problem_at
from smartzone.definitions.modbus_layout import MAX_UNITS, build_layout
from smartzone.definitions.network_checks import check_networks
from smartzone.definitions.scenario import DeviceTypeSource, Scenario
from smartzone.definitions.yaml_source import SourceDoc

CONTEXT_NAMES = frozenset(
    {"traffic", "daylight", "temperature", "rain", "radiation", "cloud", "demand", "hour", "battery"}
)


def builtin_dir(name: str) -> Path:
    """Folder of the shipped `devices` or `scenarios` (a link to the top-level folder in a
    source tree, a copy inside an installed wheel)."""
    return (Path(__file__).resolve().parents[1] / "_builtin" / name).resolve()


def _refs(value: Any) -> Iterable[str]:
    if isinstance(value, str) and REF_RE.match(value):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _refs(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _refs(item)


def _check_series(spec: Any, doc: SourceDoc, path: tuple[str | int, ...]) -> list[Problem]:
    """A csv_series file must exist and hold its columns: checked when the type loads."""
    spec._base = str(Path(doc.file).parent)
    try:
        series.load(series.resolve(spec.file, spec._base), spec.column, spec.time_column, spec.timezone or "UTC")
    except series.SeriesError as exc:
        return [problem_at(doc, path, str(exc))]
    return []


def check_device_type(dt: DeviceType, doc: SourceDoc) -> list[Problem]:
    """Cross-reference problems inside one device type."""
    out: list[Problem] = []
    earlier: set[str] = set()
    for name, sig in dt.signals.items():
        spec = sig.model.model_dump()
        for ref in _refs({k: v for k, v in spec.items() if k not in ("kind", "states", "map")}):
            scope, target = ref.split(".", 1)
            path: tuple[str | int, ...] = ("signals", name, "model")
            if scope == "signal" and target not in earlier:
                out.append(problem_at(doc, path, f"'{ref}' must name a signal declared before '{name}'"))
            elif scope == "state" and target not in dt.state:
                out.append(problem_at(doc, path, f"'{ref}': no state variable '{target}' in this type"))
            elif scope == "ctx" and target not in CONTEXT_NAMES:
                out.append(problem_at(doc, path, f"'{ref}': unknown context; expected one of {sorted(CONTEXT_NAMES)}"))
            elif scope == "param":
                out.append(problem_at(doc, path, f"'{ref}': param.* is only allowed in a command's 'set'"))
        for var_key in ("var", "mode_var", "on_var", "level_var"):
            var = spec.get(var_key)
            if spec["kind"] in ("state", "dusk_dawn", "phase_cycle") and var is not None and var not in dt.state:
                if spec["kind"] == "dusk_dawn" or var_key in ("var", "mode_var"):
                    out.append(problem_at(doc, ("signals", name, "model", var_key), f"no state variable '{var}'"))
        if spec["kind"] == "csv_series":
            out += _check_series(sig.model, doc, ("signals", name, "model", "file"))
        earlier.add(name)
    for name in dt.report.on_change:
        if name not in dt.signals:
            out.append(problem_at(doc, ("report", "on_change"), f"no signal '{name}'"))
    for cname, cmd in dt.commands.items():
        for var, value in cmd.set.items():
            path = ("commands", cname, "set", var)
            if var not in dt.state:
                out.append(problem_at(doc, path, f"no state variable '{var}' to set"))
            elif isinstance(value, str) and value.startswith("param."):
                if value[6:] not in cmd.params:
                    out.append(problem_at(doc, path, f"'{value}': command has no parameter '{value[6:]}'"))
    for fname, fault in dt.faults.items():
        if fault.signal is not None and fault.signal not in dt.signals:
            out.append(problem_at(doc, ("faults", fname, "signal"), f"no signal '{fault.signal}'"))
    for table in ("input", "holding", "coils", "discrete"):
        for i, reg in enumerate(getattr(dt.modbus, table)):
            if reg.signal is not None and reg.signal not in dt.signals:
                out.append(problem_at(doc, ("modbus", table, i, "signal"), f"no signal '{reg.signal}'"))
            if reg.state is not None and reg.state not in dt.state:
                out.append(problem_at(doc, ("modbus", table, i, "state"), f"no state variable '{reg.state}'"))
    out += [problem_at(doc, path, message) for path, message in build_layout(dt)[1]]
    return out


@dataclass
class Catalog:
    """All known device types by type id, with the file each came from."""

    types: dict[str, DeviceType] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    builtin_ids: set[str] = field(default_factory=set)  # ids of the shipped types (an owner's may not clash)

    @classmethod
    def load(cls, paths: Iterable[Path]) -> Catalog:
        catalog = cls()
        problems: list[Problem] = []
        for path in sorted(paths):
            try:
                catalog.add_file(path)
            except DefinitionError as exc:
                problems.extend(exc.problems)
        if problems:
            raise DefinitionError(problems)
        return catalog

    @classmethod
    def builtin(cls) -> Catalog:
        catalog = cls.load(builtin_dir("devices").glob("*.yaml"))
        catalog.builtin_ids = set(catalog.types)
        return catalog

    def add_file(self, path: Path, override: bool = False) -> DeviceType:
        """Add one device-type file; with *override*, it may replace a built-in type of the same id."""
        dt, doc = load_model(path, DeviceType)
        problems = check_device_type(dt, doc)
        if dt.type in self.types and Path(self.files[dt.type]).resolve() != Path(path).resolve():
            where = self.files[dt.type]
            if dt.type not in self.builtin_ids:
                problems.append(problem_at(doc, ("type",), f"device type '{dt.type}' already defined in {where}"))
            elif not override:
                problems.append(
                    problem_at(
                        doc,
                        ("type",),
                        f"device type '{dt.type}' is a built-in type ({where}): choose another id, or list this file "
                        "in the scenario's device_types as {path: ..., override: true} (docs/owners.md)",
                    )
                )
        if problems:
            raise DefinitionError(problems)
        self.types[dt.type] = dt
        self.files[dt.type] = str(path)
        self.builtin_ids.discard(dt.type)  # replaced: a second owner file with this id now clashes
        return dt

    def add_folder(self, folder: Path, override: bool = False) -> list[DeviceType]:
        """Add every *.yaml/*.yml of *folder*; collects the problems of all files before raising."""
        added, problems = [], []
        for path in yaml_files(folder):
            try:
                added.append(self.add_file(path, override))
            except DefinitionError as exc:
                problems.extend(exc.problems)
        if problems:
            raise DefinitionError(problems)
        return added

    def copy(self) -> Catalog:
        """A catalog that can take more types without changing this one (types are immutable)."""
        return Catalog(dict(self.types), dict(self.files), set(self.builtin_ids))

    def owner_files(self) -> list[str]:
        """Files of the types that are not built-in (what the GUI watches for changes)."""
        return sorted({f for t, f in self.files.items() if t not in self.builtin_ids})


def yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def add_scenario_types(sc: Scenario, doc: SourceDoc, catalog: Catalog) -> list[Problem]:
    """Load the scenario's `device_types` (relative to its file) into *catalog*; the problems found."""
    base = Path(doc.file).parent
    out: list[Problem] = []
    for i, entry in enumerate(sc.device_types):
        source = entry if isinstance(entry, DeviceTypeSource) else DeviceTypeSource(path=entry)
        where: tuple[str | int, ...] = ("device_types", i) if isinstance(entry, str) else ("device_types", i, "path")
        path = Path(source.path).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            if path.is_dir():
                if not catalog.add_folder(path, source.override):
                    out.append(problem_at(doc, where, f"no *.yaml device types in folder {path}"))
            elif path.is_file():
                catalog.add_file(path, source.override)
            else:
                out.append(problem_at(doc, where, f"no such file or folder: {path}"))
        except DefinitionError as exc:
            out.extend(exc.problems)
    return out


def _unique(doc: SourceDoc, items: list[Any], attr: str, section: str) -> list[Problem]:
    seen: dict[str, int] = {}
    out = []
    for i, item in enumerate(items):
        key = getattr(item, attr)
        if key in seen:
            out.append(problem_at(doc, (section, i, attr), f"duplicate {attr} '{key}' (also {section}[{seen[key]}])"))
        seen[key] = i
    return out


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    return f"unknown {what} '{name}'; known: {', '.join(sorted(known))}"


def check_scenario(sc: Scenario, doc: SourceDoc, catalog: Catalog) -> list[Problem]:
    out: list[Problem] = []
    out += _unique(doc, sc.districts, "id", "districts")
    out += _unique(doc, sc.tenants, "id", "tenants")
    out += _unique(doc, sc.users, "name", "users")
    out += _unique(doc, sc.fleets, "id_prefix", "fleets")
    tenants = {t.id for t in sc.tenants}
    districts = {d.id for d in sc.districts}
    for i, fleet in enumerate(sc.fleets):
        if fleet.type not in catalog.types:
            out.append(problem_at(doc, ("fleets", i, "type"), _unknown("device type", fleet.type, catalog.types)))
        if fleet.tenant not in tenants:
            out.append(problem_at(doc, ("fleets", i, "tenant"), _unknown("tenant", fleet.tenant, tenants)))
        if fleet.districts != "all":
            for j, d in enumerate(fleet.districts):
                if d not in districts:
                    out.append(problem_at(doc, ("fleets", i, "districts", j), f"unknown district '{d}'"))
    for i, user in enumerate(sc.users):
        if user.role == "owner" and user.tenant is None:
            out.append(problem_at(doc, ("users", i), "an owner needs 'tenant'"))
        if user.tenant is not None and user.tenant not in tenants:
            out.append(problem_at(doc, ("users", i, "tenant"), f"unknown tenant '{user.tenant}'"))
        for kind in ("read", "command"):
            for j, t in enumerate(getattr(user.grants, kind)):
                if t not in tenants:
                    out.append(problem_at(doc, ("users", i, "grants", kind, j), f"unknown tenant '{t}'"))
    out += _check_gateways(sc, doc, catalog)
    out += check_networks(sc, doc, catalog.types)
    out += check_bridged(sc, doc, catalog.types)
    return out


def _check_gateways(sc: Scenario, doc: SourceDoc, catalog: Catalog) -> list[Problem]:
    """Gateways name a real tenant, districts and types, distinct ports, at most 247 devices each.

    Devices are placed in a fleet's districts at random (per seed), so the count is the
    number of devices that *may* sit behind the gateway, whatever the seed.
    """
    out = _unique(doc, sc.gateways, "id", "gateways")
    tenants = {t.id for t in sc.tenants}
    districts = {d.id for d in sc.districts}
    ports: dict[int, int] = {}
    for i, gw in enumerate(sc.gateways):
        if gw.tenant not in tenants:
            known = ", ".join(sorted(tenants))
            message = f"unknown tenant '{gw.tenant}'; known: {known}"
            out.append(problem_at(doc, ("gateways", i, "tenant"), message))
        for j, d in enumerate([] if gw.districts == "all" else gw.districts):
            if d not in districts:
                out.append(problem_at(doc, ("gateways", i, "districts", j), f"unknown district '{d}'"))
        for j, t in enumerate([] if gw.types == "all" else gw.types):
            if t not in catalog.types:
                out.append(problem_at(doc, ("gateways", i, "types", j), f"unknown device type '{t}'"))
        offset = i if gw.port_offset is None else gw.port_offset
        if offset in ports:
            message = f"port offset {offset} already used by gateways[{ports[offset]}]"
            out.append(problem_at(doc, ("gateways", i), message))
        ports[offset] = i
        total = sum(
            f.count
            for f in sc.fleets
            if f.tenant == gw.tenant
            and (gw.types == "all" or f.type in gw.types)
            and (gw.districts == "all" or f.districts == "all" or bool(set(f.districts) & set(gw.districts)))
        )
        if total > MAX_UNITS:
            out.append(
                problem_at(
                    doc,
                    ("gateways", i),
                    f"up to {total} devices may sit behind this gateway; a gateway serves at most {MAX_UNITS} "
                    "unit ids: narrow its districts or types, or split it",
                )
            )
    return out


def load_scenario(path: Path | str, catalog: Catalog) -> Scenario:
    """Load and fully check a scenario against *catalog*; raise DefinitionError on any problem.

    The scenario's own `device_types` are added to *catalog* first (it is changed in place).
    """
    sc, doc = load_model(path, Scenario)
    problems = add_scenario_types(sc, doc, catalog)
    if problems:  # a fleet of a type that failed to load would only repeat the cause
        raise DefinitionError(problems)
    problems = check_scenario(sc, doc, catalog)
    if problems:
        raise DefinitionError(problems)
    return sc


def default_scenario_path() -> Path:
    return builtin_dir("scenarios") / "bologna.yaml"


def resolve_scenario(name: str | None) -> Path:
    """A path, or the name of a shipped scenario ('genoa'), or the default (None)."""
    if name is None:
        return default_scenario_path()
    path = Path(name)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in name:
        return path
    return builtin_dir("scenarios") / f"{name}.yaml"
