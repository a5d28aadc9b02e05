"""Settings named by their dotted path: flattening, types, coercion, ranges, suggestions, comments.

Scope: the generic machinery behind :func:`tsgan_lib.train.config.resolve_config`,
for any tree of dataclasses: ``{"ts": {"alpha_c": 1}}`` <-> ``{"ts.alpha_c": 1}``,
each leaf's annotated type, a value coerced to it (command-line strings parsed
as YAML scalars), each value checked against the range its component states
beside the default (:mod:`tsgan_lib.ranges`: ``Annotated[float, Probability]``),
the closest valid names to a misspelt one, and the trailing comment of each
field (its meaning, shown with its range by ``tsgan train --list``).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from tsgan_lib.errors import USAGE, TsganUserError
from tsgan_lib.ranges import annotated_hints, is_path, range_of, violations


class ConfigError(ValueError, TsganUserError):
    """A setting is unknown, of the wrong type or impossible; the message names it."""

    exit_code = USAGE


def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"ts": {"alpha_c": 1}}`` -> ``{"ts.alpha_c": 1}``; dotted keys pass through."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


#: Settings added after runs and teachers were recorded, whose defaults train what those runs trained (the
#: field's baselines): a record without one holds its default, so it is left out of the records (checkpoint
#: ``meta``, a teacher's recipe) while it has that value (:func:`without_added_defaults`).
ADDED_SETTINGS = ("model.arch", "reid.triplet", "reid.channel_aug", "optim.backbone", "optim.momentum",
                  "optim.lr_head_factor", "teacher.loss.triplet", "teacher.loss.channel_aug")


def without_added_defaults(flat: Mapping[str, Any], defaults: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``flat`` without the :data:`ADDED_SETTINGS` that hold their value in ``defaults`` (the flat defaults of
    the config ``flat`` comes from; ``prefix``: that config's place in a run's settings, e.g. ``"teacher."``),
    so a record made before they existed still matches."""
    return {k: v for k, v in flat.items() if not (prefix + k in ADDED_SETTINGS and v == defaults.get(k))}


def field_types(cls: type, prefix: str = "") -> dict[str, Any]:
    """Every setting's dotted name and annotated type (nested dataclasses expanded)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out.update(field_types(tp, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = tp
    return out


def _leaves(cls: type, prefix: str = "") -> dict[str, Any]:
    """Every setting's dotted name and annotated type, with its markers (``Annotated[float, ...]``)."""
    hints = annotated_hints(cls)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        plain = typing.get_args(tp)[0] if typing.get_origin(tp) is typing.Annotated else tp
        if dataclasses.is_dataclass(plain):
            out.update(_leaves(plain, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = tp
    return out


def path_settings(cls: type) -> tuple[str, ...]:
    """The dotted names of the settings that name a file or folder (marked ``FilePath``)."""
    return tuple(name for name, tp in _leaves(cls).items() if is_path(tp))


def check_ranges(obj: Any) -> None:
    """Raise :class:`ConfigError` naming the first setting of a dataclass tree
    that lies outside the range its component states (:mod:`tsgan_lib.ranges`)."""
    for name, value, expected in violations(obj):
        raise ConfigError(f"{name}={value!r}: expected {expected}")


def closest(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """The valid dotted names closest to ``name``: the same leaf first (``epochs`` ->
    ``schedule.epochs``), then similar spellings of the whole name or of its leaf."""
    names = list(names)
    leaf = name.rsplit(".", 1)[-1]
    same_leaf = [k for k in names if k.rsplit(".", 1)[-1] == leaf]
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.6)
    close_leaf = [k for k in names if difflib.get_close_matches(leaf, [k.rsplit(".", 1)[-1]], n=1, cutoff=0.75)]
    return list(dict.fromkeys(same_leaf + close + close_leaf))[:n]


def coerce(name: str, value: Any, tp: Any, source: str = "the settings") -> Any:
    """``value`` as the annotated type ``tp`` of setting ``name``. Strings from a
    command line are parsed as YAML scalars first (``"0.01"`` -> 0.01, ``"[1, 2]"``)."""
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{source}: {name}={value!r}: expected {expected}")

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if isinstance(value, str) and tp is not str and not (origin is Literal and value in args):
        import yaml

        if origin in (typing.Union, types.UnionType) and str in args:
            pass  # str | None: keep the text (but "none"/"null" below)
        else:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                parsed = value
            value = value if parsed is None and value.strip().lower() not in ("null", "none", "~") else parsed
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return coerce(name, value, inner[0], source)
    if origin is Literal:
        if value not in args:
            near = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            raise bad(f"one of {list(args)}" + (f" (did you mean {near[0]!r}?)" if near else ""))
        return value
    if origin is tuple:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(f"{name}[{i}]", v, args[0], source) for i, v in enumerate(items))
        if len(items) != len(args):
            raise bad(f"{len(args)} values")
        return tuple(coerce(f"{name}[{i}]", v, a, source) for i, (v, a) in enumerate(zip(items, args)))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not value.is_integer()):  # 2.5, inf and nan
            raise bad("an integer")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise bad("a number")
        try:
            return float(value)
        except (ValueError, OverflowError):  # "ten"; an integer too large for a float
            raise bad("a number") from None
    if tp is str:
        if isinstance(value, (str, Path)):
            return str(value)
        raise bad("a string")
    raise bad(f"a value of type {tp}")  # pragma: no cover (every field type is handled above)


def comments(cls: type) -> dict[str, str]:
    """``{field: its trailing comment}`` from a dataclass's source (the meaning of each setting)."""
    import inspect
    import re

    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out = {}
    for line in source.splitlines():
        m = re.match(r"\s+(\w+)\s*:[^#]*#\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def describe(obj: Any, prefix: str = "") -> list[str]:
    """``name = value    # meaning (valid: range)`` for every leaf setting of a dataclass tree."""
    notes, lines = comments(type(obj)), []
    hints = annotated_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            lines += describe(value, f"{prefix}{f.name}.")
        else:
            shown = list(value) if isinstance(value, tuple) else value
            rule = range_of(hints[f.name])
            valid = f"(valid: {'each ' if isinstance(value, tuple) else ''}{rule})" if rule is not None else None
            note = " ".join(filter(None, (notes.get(f.name), valid)))
            lines.append(f"{prefix}{f.name} = {shown!r}" + (f"    # {note}" if note else ""))
    return lines
