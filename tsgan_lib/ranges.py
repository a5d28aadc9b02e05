"""What a setting may be, stated once, next to its default: ``grey: Annotated[float, Probability] = 0.0``.

Scope: the markers the component configs put on their fields and the check
of one value against one marker:

- :class:`Range`: a number's interval (``Probability`` = [0, 1],
  ``NonNegative`` = >= 0, ``Positive`` = > 0, ``AtLeast(n)``,
  ``Between(lo, hi)``), optionally a step (``multiple_of``), or a set of
  choices (``OneOf``). Numbers must be finite. On a tuple the range holds
  for every item; ``None`` (an optional setting left unset) is always allowed.
- :data:`FilePath`: the setting names a file or folder. A preset's or a
  notebook's relative path is relative to the repository root; the command
  line turns one typed by the user into an absolute path from the current
  folder first (:func:`tsgan_lib.paths.user_path`).

``typing.get_type_hints(cls)`` drops the markers (the plain type stays what
it was); ``get_type_hints(cls, include_extras=True)`` keeps them, which is
how :func:`tsgan_lib.train.settings.check_ranges` checks a whole run's
configuration (:func:`violations`) and ``tsgan train --list`` shows each range. Rules that tie
two settings together (milestones inside the run) are in
:func:`tsgan_lib.train.config.validate`. Standard library only.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """The valid values of a number setting (or of each item of a tuple setting)."""

    lo: float | None = None      # lowest value allowed
    hi: float | None = None      # highest value allowed
    lo_open: bool = False        # lo itself excluded (a learning rate is > 0)
    hi_open: bool = False        # hi itself excluded (an Adam beta is < 1)
    multiple_of: int | None = None
    choices: tuple = ()          # the only values allowed (then lo / hi are unused)
    why: str = ""                # the reason, told with the error

    def admits(self, value: Any) -> bool:
        """Whether one value (not a tuple) lies in the range."""
        if self.choices:
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value):  # (an int is finite, however large)
            return False
        if self.lo is not None and (value < self.lo or (self.lo_open and value == self.lo)):
            return False
        if self.hi is not None and (value > self.hi or (self.hi_open and value == self.hi)):
            return False
        return not (self.multiple_of and value % self.multiple_of)

    def __str__(self) -> str:
        """Compact, for ``tsgan train --list``: ``[0, 1]``, ``>= 0``, ``> 0``, ``one of 18, 34, 50``."""
        if self.choices:
            return ("one of " if len(self.choices) > 1 else "only ") + ", ".join(map(str, self.choices))
        if self.lo is not None and self.hi is not None:
            text = f"{'(' if self.lo_open else '['}{_num(self.lo)}, {_num(self.hi)}{')' if self.hi_open else ']'}"
        elif self.lo is not None:
            text = f"{'>' if self.lo_open else '>='} {_num(self.lo)}"
        else:
            text = f"{'<' if self.hi_open else '<='} {_num(self.hi)}" if self.hi is not None else "finite"
        return text + (f", a multiple of {self.multiple_of}" if self.multiple_of else "")

    def expected(self, integer: bool = False) -> str:
        """What a value must be, as the end of a sentence ``expected ...``."""
        if self.choices:
            return f"one of {list(self.choices)}" + (f" ({self.why})" if self.why else "")
        a, noun = ("an", "integer") if integer else ("a", "finite number")
        if self.hi is None and self.lo == 0:
            text = f"a {'positive' if self.lo_open else 'non-negative'} {noun}"
        elif self.hi is None and self.lo == 1 and integer and not self.lo_open:
            text = "a positive integer"
        elif self.hi is None and self.lo is not None:
            text = f"{a} {noun} {'above' if self.lo_open else 'of at least'} {_num(self.lo)}"
        else:
            text = f"{a} {noun} in {Range(self.lo, self.hi, self.lo_open, self.hi_open)}"
        text += f", a multiple of {self.multiple_of}" if self.multiple_of else ""
        return text + (f" ({self.why})" if self.why else "")

    def near(self, value: Any) -> str | None:
        """The closest choice to a misspelt one."""
        if not self.choices or not isinstance(value, str):
            return None
        near = difflib.get_close_matches(value, [str(c) for c in self.choices], n=1)
        return near[0] if near else None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def AtLeast(lo: float, why: str = "") -> Range:  # noqa: N802 (a marker: reads like a type in an annotation)
    return Range(lo, why=why)


def Between(lo: float, hi: float, why: str = "") -> Range:  # noqa: N802
    return Range(lo, hi, why=why)


def OneOf(*choices: Any, why: str = "") -> Range:  # noqa: N802
    return Range(choices=tuple(choices), why=why)


Probability = Range(0, 1)
NonNegative = Range(0)
Positive = Range(0, lo_open=True)


class _FilePath:
    """Marks a setting that names a file or folder."""

    def __repr__(self) -> str:
        return "FilePath"


FilePath = _FilePath()


@functools.lru_cache(maxsize=None)
def annotated_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints(cls, include_extras=True)``, evaluated once per class."""
    return typing.get_type_hints(cls, include_extras=True)


def markers(tp: Any) -> tuple:
    """The markers of an annotated type (``Annotated[float, NonNegative]`` -> ``(NonNegative,)``)."""
    return tuple(getattr(tp, "__metadata__", ())) if typing.get_origin(tp) is typing.Annotated else ()


def range_of(tp: Any) -> Range | None:
    return next((m for m in markers(tp) if isinstance(m, Range)), None)


def is_path(tp: Any) -> bool:
    return any(m is FilePath for m in markers(tp))


def problem(value: Any, rule: Range, tp: Any) -> str | None:
    """What ``value`` should have been (``None`` if it lies in ``rule``); ``tp``: the annotated type
    (an optional setting may be ``None``; on a tuple the rule holds for every item)."""
    if value is None:
        return None
    plain = typing.get_args(tp)[0] if typing.get_origin(tp) is typing.Annotated else tp
    args = [a for a in typing.get_args(plain) if a is not type(None)]
    optional = type(None) in typing.get_args(plain)
    if isinstance(value, tuple):
        if all(rule.admits(v) for v in value):
            return None
        if rule.choices:
            return f"a subset of {list(rule.choices)}"
        return f"every item to be {rule.expected(integer=int in args)}"
    if rule.admits(value):
        return None
    near = rule.near(value)
    text = rule.expected(integer=plain is int or int in args)
    return ("None or " if optional else "") + text + (f"; did you mean {near!r}?" if near else "")


def violations(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any, str]]:
    """``(dotted name, value, what was expected)`` for every field of a dataclass tree outside its range."""
    hints = annotated_hints(type(obj))
    for f in dataclasses.fields(obj):
        value, name = getattr(obj, f.name), f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from violations(value, name + ".")
            continue
        rule = range_of(hints[f.name])
        expected = problem(value, rule, hints[f.name]) if rule is not None else None
        if expected:
            yield name, list(value) if isinstance(value, tuple) else value, expected


def check_fields(obj: Any) -> None:
    """Raise ``ValueError`` naming the first field of the config ``obj`` outside its stated range
    (what a component's own ``validate()`` starts with)."""
    for name, value, expected in violations(obj):
        raise ValueError(f"{name}={value!r}: expected {expected}")
