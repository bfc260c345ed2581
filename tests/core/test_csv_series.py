"""csv_series: a signal played from a CSV time series (hold, linear, loop, time zone, errors)."""

from __future__ import annotations

import csv
import gzip
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from smartzone.core.events import Reading
from smartzone.core.world import World
from smartzone.definitions.catalog import Catalog, builtin_dir
from smartzone.definitions.errors import DefinitionError
from smartzone.definitions.scenario import Scenario
from smartzone.runtime.api import Runtime
from smartzone.runtime.recording import Recorder, scenario_header
from smartzone.runtime.replay import resimulate

DATA = builtin_dir("devices") / "data" / "bologna-november-week.csv"
TYPE = builtin_dir("devices") / "air-temperature-series.yaml"
ROME = ZoneInfo("Europe/Rome")
SCENARIO = """schema_version: 1
city: csvville
name: CSVville
country: IT
locale: it_IT
timezone: Europe/Rome
start: {start}
seed: 3
center: {{lat: 44.49, lon: 11.34}}
climate: {{temp_mean_c: 8}}
districts:
  - {{id: centro, name: Centro, polygon: [[44.49, 11.33], [44.50, 11.33], [44.50, 11.35], [44.49, 11.35]]}}
tenants:
  - {{id: comune, name: Comune, kind: city}}
fleets:
  - {{type: air-temperature-series, tenant: comune, count: 2, id_prefix: at}}
"""


def _rows() -> list[tuple[datetime, float, float]]:
    with DATA.open() as f:
        return [
            (
                datetime.fromisoformat(r["time"]).replace(tzinfo=ROME),
                float(r["temperature_c"]),
                float(r["relative_humidity_pct"]),
            )
            for r in csv.DictReader(f)
        ]


def _scenario(tmp_path: Path, start: str) -> Path:
    path = tmp_path / "csvville.yaml"
    path.write_text(SCENARIO.format(start=start))
    return path


def _readings(tmp_path: Path, start: str, hours: float) -> list[Reading]:
    from smartzone.definitions.catalog import load_scenario

    catalog = Catalog.builtin()
    sc: Scenario = load_scenario(_scenario(tmp_path, start), catalog)
    world = World(sc, catalog, network=False)
    got: list[Reading] = []
    world.bus.subscribe(got.append, (Reading,))
    world.run(hours * 3600)
    return got


def _expected(rows: list[tuple[datetime, float, float]], when: datetime) -> tuple[float, float]:
    """Temperature held from the hour's row, humidity linear to the next row (the week repeats)."""
    first = rows[0][0]
    period = timedelta(days=7)
    x = first + (when - first) % period
    i = max(k for k, r in enumerate(rows) if r[0] <= x)
    t0, temp, h0 = rows[i]
    t1, _, h1 = rows[i + 1] if i + 1 < len(rows) else (first + period, 0.0, rows[0][2])
    return temp, round(h0 + (h1 - h0) * ((x - t0) / (t1 - t0)), 0)


@pytest.mark.parametrize("start", ["2026-11-23T00:00:00Z", "2027-01-04T05:00:00Z"], ids=["in-range", "looped"])
def test_readings_follow_the_data_set(tmp_path: Path, start: str) -> None:
    rows = _rows()
    readings = _readings(tmp_path, start, 12)
    t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
    assert len(readings) > 100
    for r in readings:
        when = t0 + timedelta(seconds=r.measured_at)
        temp, humidity = _expected(rows, when)
        assert r.values["temperature"] == temp, (r, when)
        assert r.values["humidity"] == humidity, (r, when)


def _broken_type(tmp_path: Path, model: str, csv_text: str | None = None) -> Path:
    folder = tmp_path / "types"
    (folder / "data").mkdir(parents=True)
    text = TYPE.read_text().replace(
        "model: {kind: csv_series, file: data/bologna-november-week.csv, column: temperature_c, interpolation: hold}",
        model,
    )
    path = folder / "air-temperature-series.yaml"
    path.write_text(text)
    shutil.copy(DATA, folder / "data" / "bologna-november-week.csv")
    if csv_text is not None:
        (folder / "data" / "bad.csv").write_text(csv_text)
    return path


@pytest.mark.parametrize(
    ("model", "csv_text", "message"),
    [
        ("model: {kind: csv_series, file: data/nothing.csv, column: t}", None, "nothing.csv: cannot read"),
        ("model: {kind: csv_series, file: data/bologna-november-week.csv, column: t}", None, "line 1: no column 't'"),
        (
            "model: {kind: csv_series, file: data/bad.csv, column: v}",
            "time,v\n2026-01-01T01:00,1\n2026-01-01T00:00,2\n",
            "bad.csv: line 3: times must increase",
        ),
        (
            "model: {kind: csv_series, file: data/bad.csv, column: v}",
            "time,v\n2026-01-01T01:00,x\n",
            "bad.csv: line 2: expected a time and a number",
        ),
    ],
    ids=["missing-file", "missing-column", "unordered", "not-a-number"],
)
def test_a_bad_series_is_one_clear_problem(tmp_path: Path, model: str, csv_text: str | None, message: str) -> None:
    path = _broken_type(tmp_path, model, csv_text)
    with pytest.raises(DefinitionError) as err:
        Catalog.load([path])
    text = str(err.value)
    assert message in text and "air-temperature-series.yaml" in text and "signals.temperature.model.file" in text


def test_a_recording_carries_the_data_set_and_resimulates(tmp_path: Path) -> None:
    rt = Runtime.load(_scenario(tmp_path, "2026-11-23T00:00:00Z"), fast=True, duration=7200.0)
    path, again = tmp_path / "rec.jsonl.gz", tmp_path / "again.jsonl.gz"
    recorder = Recorder.open(path)
    header = scenario_header(rt, fast=True, speed=1.0, duration=7200.0)
    assert header["data_files"] == {"data/bologna-november-week.csv": DATA.read_text()}
    recorder.attach(rt, header)
    try:
        rt.start()
        assert rt.wait(60)
    finally:
        rt.stop()
    assert recorder.close(rt.sim_time) is None
    resimulate(path, again)
    body = [gzip.decompress(p.read_bytes()).split(b"\n", 1)[1] for p in (path, again)]
    assert body[0] == body[1] and b'"temperature"' in body[0]
