"""Find drivers through the `robot_control.drivers` entry-point group."""

from __future__ import annotations

from importlib import metadata

from robot_control.body.driver import Driver, DriverError

GROUP = "robot_control.drivers"


def available_drivers() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


def load_driver_class(name: str) -> type[Driver]:
    drivers = available_drivers()
    if name not in drivers:
        raise DriverError(
            f"no driver named {name!r} in entry-point group {GROUP!r}; "
            f"installed drivers: {', '.join(sorted(drivers)) or 'none'}"
        )
    try:
        cls = drivers[name].load()
    except Exception as exc:  # a broken third-party plugin must not look like "not found"
        raise DriverError(f"driver {name!r} ({drivers[name].value}) failed to import: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise DriverError(f"driver {name!r} ({drivers[name].value}) is not a robot_control Driver subclass")
    return cls
