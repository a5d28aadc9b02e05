"""What a run's test evaluates, as one component of its configuration.

The protocol's own constants (cameras, shots, the 10 trials) live in
:mod:`tsgan_lib.eval.protocol`; these are the choices a run makes among them.
The defaults are the paper's protocol (the official gallery draws, V before
the BNNeck, Euclidean distance, no flip, no re-ranking). ``draw``,
``feature``, ``normalize`` and ``flip`` are the choices that the field's
published numbers make differently and rarely state (docs/protocol.md lists
each with the number it moves); ``tsgan evaluate RUN --choices`` shows one run
under every combination.
On RegDB ``modes`` and ``shots`` do not apply: both directions
(visible->thermal, thermal->visible) are evaluated on every test image. On
LLCM ``modes``, ``shots`` and ``rand_perm`` do not apply: both directions
(ir->visible, visible->ir) are evaluated over ``trials`` gallery draws
(:mod:`tsgan_lib.eval.llcm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from tsgan_lib.ranges import AtLeast, FilePath, OneOf

from .protocol import NUM_TRIALS


@dataclass
class EvalConfig:
    """The test of a trained run (SYSU-MM01 protocol; paper Section IV.A)."""

    modes: Annotated[tuple[str, ...], OneOf("all", "indoor")] = ("all", "indoor")  # search modes: all-search (cams 1, 2, 4, 5) and indoor (1, 2)
    shots: Annotated[tuple[int, ...], OneOf(1, 10)] = (1,)  # gallery images per (id, camera): 1 single-shot, 10 multi-shot
    trials: Annotated[int, AtLeast(1)] = NUM_TRIALS                    # random gallery draws (the protocol: 10)
    rerank: bool = False                        # also k-reciprocal re-ranking (paper IV.B.1)
    batch_size: Annotated[int, AtLeast(1)] = 128                       # feature extraction batch
    rand_perm: Annotated[str | None, FilePath] = None  # the official rand_perm_cam.mat (exact galleries); None = seeded draws
    draw: Literal["official", "peers"] = "official"  # SYSU galleries: official (rand_perm, or its seeded stand-in) | peers (random.seed(trial) + random.choice, as AGW/CAJ/DEEN)
    feature: Literal["pool", "bn"] = "pool"  # test feature: V before the BNNeck (the paper: "from the GAP layer") | after it
    normalize: bool = False                  # L2-normalise features before the distance (the peers rank by cosine)
    flip: bool = False                       # average each image's feature with its mirror's (CAJ, DEEN, CSDN)

    def __post_init__(self) -> None:
        self.modes = tuple(self.modes)
        self.shots = tuple(int(s) for s in self.shots)
