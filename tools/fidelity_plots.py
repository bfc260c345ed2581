"""Draw docs/fidelity/*.png: a simulated week of Bologna beside the references its models cite.

    python tools/fidelity_plots.py [--out docs/fidelity] [--city bologna] [--hours 168]

Rerun it when a behaviour profile, the climate statistics or the lighting rule changes, and
commit the images with the change (docs/fidelity.md shows them). It runs the city the way the
fidelity test tier does (tests/fidelity/weekstats.py: fast mode, no radio network, the same
aggregates), so the plots show exactly what the tier checks. Needs matplotlib (dev extras).

Each figure puts the simulated shape (solid) beside its reference (dashed):
- traffic.png: mean vehicles per hour by local hour, weekday / Saturday / Sunday+holiday, each
  normalised to the weekday peak, against the UK DfT TRA0307/TRA0305 profiles;
- lights.png: the street lights' switching times per day against astral's sunset + 10 min and
  sunrise - 10 min (the rule the street-light type declares);
- temperature.png: one weather station's temperature against the month's climate statistics
  (mean and daily swing), with each day's sunrise marked (the minimum should sit near it);
- offline.png: the share of the fleet offline each hour against the declared dropout fraction.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from datetime import UTC, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from astral import Observer
from astral.sun import sun

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fidelity"))  # the tier's own aggregation, one place for it
from weekstats import WeekStats, run_city  # noqa: E402

from smartzone.core.context import SATURDAY_TRAFFIC, SUNDAY_TRAFFIC, WEEKDAY_TRAFFIC  # noqa: E402
from smartzone.definitions.catalog import Catalog, load_scenario, resolve_scenario  # noqa: E402

DAY = 86400.0
SIM, REF = "-", "--"
COLOURS = {"weekday": "#1f77b4", "saturday": "#ff7f0e", "sunday": "#2ca02c"}


def _local_hours(stats: WeekStats, t: float) -> float:
    return stats.world.clock.hour(t)


def traffic(stats: WeekStats, out: Path) -> Path:
    clock = stats.world.clock
    start = clock.date(0.0)
    by_kind: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (day, hour), counts in stats.counts.items():
        kind = clock.day_type((day - start).days * DAY + 12 * 3600.0)
        by_kind["sunday" if kind == "holiday" else kind][hour] += counts
    means = {k: [statistics.mean(v[h]) if v[h] else float("nan") for h in range(24)] for k, v in by_kind.items()}
    peak = max(x for x in means.get("weekday", [1.0]) if x == x) or 1.0
    refs = {"weekday": WEEKDAY_TRAFFIC, "saturday": SATURDAY_TRAFFIC, "sunday": SUNDAY_TRAFFIC}
    fig, ax = plt.subplots(figsize=(8, 4.2))
    hours = [h + 0.5 for h in range(24)]
    for kind, ref in refs.items():
        ax.plot(hours, ref, REF, color=COLOURS[kind], label=f"{kind}: TRA0307 reference")
        if kind in means:
            ax.plot(hours, [m / peak for m in means[kind]], SIM, color=COLOURS[kind], label=f"{kind}: simulated")
    ax.set(xlabel="local hour", ylabel="flow / weekday peak", xlim=(0, 24), xticks=range(0, 25, 3))
    ax.set_title(f"Traffic counters, {stats.world.scenario.name}: hourly flow by day type")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return _save(fig, out / "traffic.png")


def lights(stats: WeekStats, out: Path) -> Path:
    world = stats.world
    clock = world.clock
    rule = world.catalog.types["street-light"].signals["level"].model
    obs = Observer(world.scenario.center.lat, world.scenario.center.lon)
    days = int(max((t for edges in stats.light_edges.values() for t, _ in edges), default=0.0) // DAY) + 1
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for lit, colour, offset, key in (
        (True, "#d62728", rule.on_offset_min, "sunset"),  # type: ignore[union-attr]
        (False, "#1f77b4", rule.off_offset_min, "sunrise"),  # type: ignore[union-attr]
    ):
        ref_x, ref_y, sim_x, sim_y = [], [], [], []
        for d in range(days):
            day = clock.date(0.0) + timedelta(days=d)
            want = sun(obs, date=day, tzinfo=clock.zone)[key] + timedelta(minutes=offset)
            t_want = (want.astimezone(UTC) - clock.start).total_seconds()
            ref_x.append(d)
            ref_y.append(want.hour + want.minute / 60 + want.second / 3600)
            edges = [e for device_edges in stats.light_edges.values() for e in device_edges]
            got = [t for t, on in edges if on == lit and abs(t - t_want) < 3 * 3600]
            if got:
                sim_x.append(d)
                sim_y.append(_local_hours(stats, statistics.median(got)))
        label = "on" if lit else "off"
        ax.plot(ref_x, ref_y, REF + "o", color=colour, label=f"switch {label}: rule ({key} {offset:+g} min, astral)")
        ax.plot(sim_x, sim_y, SIM + "x", color=colour, label=f"switch {label}: simulated (median of the lights)")
    ax.set(xlabel=f"day from {clock.date(0.0)}", ylabel="local time (h)")
    ax.set_title("Street lights: switching time against the declared rule")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, out / "lights.png")


def temperature(stats: WeekStats, out: Path) -> Path:
    world = stats.world
    climate = world.scenario.climate
    obs = Observer(world.scenario.center.lat, world.scenario.center.lon)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    xs = [t / DAY for t, _ in stats.temps]
    ax.plot(xs, [v for _, v in stats.temps], SIM, color="#d62728", lw=0.8, label="simulated (one station)")
    mean, amp = climate.temp_mean_c, climate.temp_amplitude_c
    ax.axhline(mean, ls=REF, color="#555555", label=f"climate mean {mean:g} °C")
    ax.axhspan(mean - amp, mean + amp, color="#999999", alpha=0.15, label=f"mean ± daily half-swing {amp:g} °C")
    days = int(max(xs, default=0.0)) + 1
    for d in range(days):
        rise = sun(obs, date=world.clock.date(0.0) + timedelta(days=d), tzinfo=world.clock.zone)["sunrise"]
        x = (rise.astimezone(UTC) - world.clock.start).total_seconds() / DAY
        ax.axvline(x, color="#ff7f0e", lw=0.6, alpha=0.7, label="sunrise" if d == 0 else None)
    ax.set(xlabel=f"day from {world.clock.date(0.0)}", ylabel="°C")
    sources = ", ".join(climate.sources) or "no source"
    ax.set_title(f"Temperature against the climate statistics ({sources})", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, out / "temperature.png")


def offline(stats: WeekStats, out: Path) -> Path:
    declared = stats.world.scenario.dropouts.fraction
    fig, ax = plt.subplots(figsize=(8, 3.2))
    hours = [h / 24 for h in range(1, len(stats.offline_share) + 1)]
    ax.plot(hours, [100 * s for s in stats.offline_share], SIM, label="simulated: fleet offline")
    ax.axhline(100 * declared, ls=REF, color="#555555", label=f"declared dropouts.fraction {declared:.0%}")
    ax.set(xlabel="day", ylabel="% of devices offline", ylim=(0, max(5.0, 300 * declared)))
    ax.set_title("Spontaneous dropouts (scripted faults included)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _save(fig, out / "offline.png")


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "fidelity")
    parser.add_argument("--city", default="bologna")
    parser.add_argument("--hours", type=int, default=7 * 24)
    args = parser.parse_args(argv)
    catalog = Catalog.builtin()
    stats = run_city(load_scenario(resolve_scenario(args.city), catalog), catalog, args.hours)
    args.out.mkdir(parents=True, exist_ok=True)
    for draw in (traffic, lights, temperature, offline):
        print(draw(stats, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
