"""Small helpers for typed, validated configuration loaded from YAML.

Each config type is a frozen dataclass with a `from_dict` that uses a `Section` to pull
typed fields and reject unknown keys; errors name the file and the key path, e.g.
`config/robots/g1.yaml: joints[3].upper: expected a number, got 'abc'`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file or mapping is invalid; the message says where and why."""


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


class Section:
    """Typed access to one mapping of a config, tracking which keys were used."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {_describe(data)}")
        self.data = data
        self.where = where
        self._used: set[str] = set()

    def _path(self, key: str) -> str:
        if not self.where:
            return key
        return f"{self.where} {key}" if self.where.endswith(":") else f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = ...) -> Any:
        self._used.add(key)
        if key not in self.data:
            if default is ...:
                raise ConfigError(f"{self._path(key)}: required key is missing")
            return default
        return self.data[key]

    def str(self, key: str, default: Any = ...) -> Any:
        value = self.raw(key, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self._path(key)}: expected a non-empty string, got {_describe(value)}")
        return value

    def number(self, key: str, default: Any = ..., *, minimum: float | None = None,
               maximum: float | None = None, positive: bool = False) -> Any:
        value = self.raw(key, default)
        if value is default and default is not ...:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{self._path(key)}: expected a finite number, got {_describe(value)}")
        if positive and value <= 0:
            raise ConfigError(f"{self._path(key)}: must be > 0, got {value}")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{self._path(key)}: must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{self._path(key)}: must be <= {maximum}, got {value}")
        return float(value)

    def integer(self, key: str, default: Any = ..., *, minimum: int | None = None,
                maximum: int | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and default is not ...:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self._path(key)}: expected an integer, got {_describe(value)}")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{self._path(key)}: must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{self._path(key)}: must be <= {maximum}, got {value}")
        return value

    def boolean(self, key: str, default: Any = ...) -> Any:
        value = self.raw(key, default)
        if value is default and default is not ...:
            return value
        if not isinstance(value, bool):
            raise ConfigError(f"{self._path(key)}: expected true or false, got {_describe(value)}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = ...) -> Any:
        value = self.raw(key, default)
        if value not in options:
            raise ConfigError(f"{self._path(key)}: expected one of {', '.join(options)}, got {_describe(value)}")
        return value

    def section(self, key: str, default: Any = ...) -> Section:
        value = self.raw(key, default)
        return Section({} if value is None else value, self._path(key))

    def list(self, key: str, default: Any = ...) -> list[Any]:
        value = self.raw(key, default)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError(f"{self._path(key)}: expected a list, got {_describe(value)}")
        return value

    def str_list(self, key: str, default: Any = ...) -> list[str]:
        items = self.list(key, default)
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise ConfigError(f"{self._path(key)}[{i}]: expected a non-empty string, got {_describe(item)}")
        return items

    def mapping(self, key: str, default: Any = ...) -> dict[str, Any]:
        value = self.raw(key, default)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self._path(key)}: expected a mapping, got {_describe(value)}")
        return dict(value)

    def item(self, key: str, index: int) -> str:
        return f"{self._path(key)}[{index}]"

    def done(self) -> None:
        """Reject keys nobody asked for (typos must not be silently ignored)."""
        unknown = sorted(set(map(str, self.data)) - self._used)
        if unknown:
            raise ConfigError(f"{self.where or 'top level'}: unknown key(s): {', '.join(unknown)}")


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"
