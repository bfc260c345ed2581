"""SmartZone desktop GUI (PySide6), installed as `smartzone_gui`.

The only package that imports Qt. It drives the simulation exclusively through the
runtime API (smartzone.runtime.api.Runtime); see docs/gui.md.
"""

__all__ = ["run_app"]


def run_app(*args: object, **kwargs: object) -> int:
    """Open the main window (see smartzone_gui.app.run_app)."""
    from smartzone_gui.app import run_app as _run

    return _run(*args, **kwargs)  # type: ignore[arg-type]
