"""The SYSU-MM01 stand-in's generator settings: :class:`SyntheticConfig` (they form its cache key).

Also what the other stand-ins' configs share: :func:`config_from` (a config
from keyword arguments, unknown names refused), the generator version in the
keys and the marker file a generated tree holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Annotated

import numpy as np

from tsgan_lib.ranges import AtLeast, Between, OneOf, Positive, Probability, check_fields

GENERATOR_VERSION = 2  # 2: NIR sensor for the IR cameras (1: thermal only)
MARKER = "SYNTHETIC.json"
IR_SENSORS = ("nir", "thermal")


@dataclass(frozen=True)
class SyntheticConfig:
    """Arguments of the SYSU-MM01 stand-in's generator (they form the cache
    key). ``ir_sensor``: what cameras 3 and 6 render, ``"nir"`` (SYSU-MM01's
    near-infrared cameras) or ``"thermal"`` (far-infrared, as in RegDB)."""

    num_ids: Annotated[int, AtLeast(6, why="two ids per split")] = 160
    seed: Annotated[int, Between(0, 2**32 - 1)] = 0
    height: Annotated[int, AtLeast(32)] = 128
    width: Annotated[int, AtLeast(16)] = 64
    images_per_camera: Annotated[tuple[int, int], AtLeast(1)] = (2, 6)
    split_fractions: Annotated[tuple[float, float, float], Positive] = (0.6, 0.15, 0.25)
    indoor_fraction: Annotated[float, Probability] = 0.6
    twin_fraction: Annotated[float, Probability] = 0.2
    jpeg_quality: Annotated[int, Between(1, 100)] = 90
    ir_sensor: Annotated[str, OneOf(*IR_SENSORS)] = "nir"

    def validate(self) -> None:
        """``ValueError`` naming the field: each one outside the range stated beside it, then the rules
        that tie fields together."""
        check_fields(self)
        lo, hi = self.images_per_camera
        if lo > hi:
            raise ValueError(f"images_per_camera={[lo, hi]}: expected (lo, hi) with lo <= hi")
        if split_sizes(self)[0] < 2:
            raise ValueError(f"num_ids={self.num_ids} leaves fewer than 2 training ids with "
                             f"split_fractions={list(self.split_fractions)}")

    def key(self) -> str:
        payload = json.dumps({"version": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def split_sizes(cfg: SyntheticConfig) -> tuple[int, int, int]:
    """How many identities the train, val and test splits get (at least 1 val, 2 test)."""
    f = np.asarray(cfg.split_fractions, float)
    f = f / f.sum()
    n_val = max(1, int(round(f[1] * cfg.num_ids)))
    n_test = max(2, int(round(f[2] * cfg.num_ids)))
    return cfg.num_ids - n_val - n_test, n_val, n_test


def config_from(cls, kwargs: Mapping, caller: str):
    """``cls(**kwargs)`` for a generator config dataclass, lists turned into
    tuples; unknown names raise ``TypeError`` naming them and the known ones."""
    known = {f.name for f in fields(cls)}
    unknown = set(kwargs) - known
    if unknown:
        raise TypeError(f"{caller} got unknown arguments {sorted(unknown)}; expected some of {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()})


def as_config(config: SyntheticConfig | Mapping | None, caller: str) -> SyntheticConfig:
    if config is None:
        config = SyntheticConfig()
    elif isinstance(config, Mapping):
        config = config_from(SyntheticConfig, config, caller)
    elif not isinstance(config, SyntheticConfig):
        raise TypeError(f"{caller}: config must be a SyntheticConfig, a dict of its fields or None, "
                        f"got {type(config).__name__}")
    config.validate()
    return config
