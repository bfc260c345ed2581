"""One certification run: city and endpoints up, the app launched, probes, verdicts, reports.

    result = certify(CertifyOptions(scenario="bologna", app="python examples/good_app.py",
                                    user="demo-app", duration=600, speed=60, report=Path("out")),
                     services)
    result.passed, result.verdicts, result.paths

`services` are the started endpoint services (smartzone run's ServiceSpecs, started by the
CLI): certification needs the managed MQTT broker and/or the Modbus gateways to observe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartzone.certify.app_process import AppProcess, app_environment
from smartzone.certify.observer import Recorder
from smartzone.certify.probes import Script, wait_reconnect
from smartzone.certify.profile import Profile
from smartzone.certify.records import DeviceFacts, Observations, Stamp, ValueRec
from smartzone.certify.report import RunInfo, write_reports
from smartzone.certify.rules import evaluate, passed
from smartzone.certify.usage import used_devices
from smartzone.certify.verdicts import Verdict
from smartzone.endpoints.mqtt.broker.policy import AccessPolicy
from smartzone.errors import UsageError

if TYPE_CHECKING:  # certify sits below the runtime: it only drives the one it is given
    from smartzone.runtime.api import Runtime

TICK_S = 0.05
START_GRACE_S = 0.5


@dataclass
class CertifyOptions:
    scenario: str
    app: str
    user: str
    duration: float  # simulated seconds
    speed: float
    report: Path
    profile: Profile = field(default_factory=Profile)
    profile_path: str | None = None


@dataclass
class CertifyResult:
    passed: bool
    verdicts: list[Verdict]
    paths: dict[str, Path]
    observations: Observations


def _find(services: list[Any], attr: str) -> Any:
    return next((s for s in services if hasattr(s, attr)), None)


def _targets(rt: Runtime, rec: Recorder, profile: Profile, read: list[str]) -> list[str]:
    used = sorted(used_devices(rec.obs, frozenset(profile.app.uses)))
    if used:
        return used
    return [d for d, info in rt.devices.items() if info.tenant in read]


def certify(opts: CertifyOptions, rt: Runtime, services: list[Any]) -> CertifyResult:
    """Run the app against the started runtime/services; the runtime must not be started yet."""
    sc = rt.scenario
    user = next(u for u in sc.users if u.name == opts.user)
    if user.role == "owner":
        read, command = [user.tenant or ""], [user.tenant or ""]
    elif user.role == "admin":
        read = command = [t.id for t in sc.tenants]
    else:
        read, command = list(user.grants.read), list(user.grants.command)
    mqtt = _find(services, "broker")
    modbus = _find(services, "gateways")
    obs = Observations(
        sc.city,
        opts.user,
        opts.speed,
        backend=mqtt.broker.backend if mqtt else "none",
    )
    on_change = {name for name, t in rt.catalog.types.items() if t.report.on_change}
    obs.devices = {
        d: DeviceFacts(i.type, i.tenant, float(i.report_interval), i.type in on_change) for d, i in rt.devices.items()
    }
    obs.types = dict(rt.catalog.types)  # commands are judged against the types' actions (accounting.py)
    policy = mqtt.broker.policy if mqtt else AccessPolicy(sc, "")
    watch = {e.when.device for e in opts.profile.expect}
    rec = Recorder(obs, policy, lambda: rt.sim_time, watch)
    for dev in sorted(watch):  # the starting values: a trigger is a change from them
        live = rt.live.get(dev)
        if live is not None:
            obs.values.append(ValueRec(Stamp(0.0, 0.0), dev, {**live.values, **live.state}))
    if mqtt:
        mqtt.broker.set_observer(rec)
    gateways: list[tuple[str, str, int]] = []
    if modbus:
        for g in modbus.gateways:
            g.server.observer = rec.modbus_observer(g.plan.id)
            gateways.append((g.plan.id, modbus.host, g.port))
    rt.subscribe(rec.on_event)
    env = app_environment(
        host=mqtt.broker.host if mqtt else None,
        port=mqtt.broker.port if mqtt else None,
        user=user.name,
        password=user.password,
        city=sc.city,
        read=read,
        command=command,
        gateways=gateways,
        speed=opts.speed,
    )
    wall_total = opts.duration / opts.speed
    restart = mqtt.restart_broker if mqtt is not None and hasattr(mqtt, "restart_broker") else None
    script = Script(rt, rec, opts.profile.probes, lambda: _targets(rt, rec, opts.profile, read), wall_total, restart)
    opts.report.mkdir(parents=True, exist_ok=True)
    rt.start()
    try:
        app = AppProcess(opts.app, env, opts.report / "app.log")
    except OSError as exc:
        rt.stop()
        raise UsageError(f"--app: cannot start {opts.app!r}: {exc.strerror or exc}") from None
    t0 = time.monotonic()
    try:
        if not _drive(rt, app, rec, script, wall_total, t0):
            obs.notes.append("the simulation could not keep up with --speed: the run ended before its duration")
        script.finish()
        if script.outage and script.kicked and rec.open_connections() == 0 and app.poll() is None:
            wait_reconnect(rec, script.outage[1], opts.profile.thresholds.reconnect_within)
    finally:
        script.finish()
        code = app.poll()
        app_stopped = app.stop()
        if code is None:
            obs.notes.append(f"the app was stopped by certification (exit code {app_stopped})")
        obs.app_output = app.output()
        rt.stop()
        obs.wall_duration = time.monotonic() - t0
        obs.sim_duration = rt.sim_time
        if mqtt:
            mqtt.broker.set_observer(None)
            obs.broker_denied = {k: n for k, n in mqtt.broker.denied_counts().items() if k.startswith(f"{opts.user}:")}
    verdicts = evaluate(obs, opts.profile, script.outage)
    ok = passed(verdicts)
    info = RunInfo(
        opts.scenario, sc.city, opts.user, opts.app, obs.backend, opts.speed, rt.seed, sc.start, ok, opts.profile_path
    )
    paths = write_reports(opts.report, info, obs, verdicts)
    return CertifyResult(ok, verdicts, paths, obs)


def _drive(rt: Runtime, app: AppProcess, rec: Recorder, script: Script, wall_total: float, t0: float) -> bool:
    """Until the simulated duration is reached or the app dies: tick the probes, watch the app.

    False when the simulation fell far behind its wall-clock schedule (it is cut short)."""
    while True:
        elapsed = time.monotonic() - t0
        code = app.poll()
        if code is not None:
            rec.obs.app_exit, rec.obs.app_exit_at = code, rec.stamp()
            return True
        if elapsed > START_GRACE_S:
            script.tick(elapsed / wall_total)
        if rt.wait(timeout=TICK_S):
            return True
        if elapsed > wall_total * 1.5 + 10:
            return False
