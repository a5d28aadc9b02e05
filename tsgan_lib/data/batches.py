"""Training batches as a fit loop drives them: positioned at an epoch (and a step), counted, iterated.

The fit loop (:class:`tsgan_lib.train.loop.FitLoop`) asks its batches for
three things: ``set_epoch(epoch, start_step)`` before each epoch (a run
resumed mid-epoch skips the steps it has done), ``len()`` (steps per epoch)
and iteration. :class:`EpochBatches` gives them to whatever holds the
batches:

- a loader over a positioned sampler (:func:`tsgan_lib.data.build_train_loader`'s:
  the position goes to its :class:`~tsgan_lib.data.sampler.CrossModalityIdentitySampler`);
- a loader that positions itself (:class:`~tsgan_lib.data.tensor_pipeline.TensorTrainLoader`,
  or another :class:`EpochBatches`);
- a plain list of batches: each epoch replays it, resuming skips its first steps.

Two options make the views the project needs from the run's pair batches
``(x_rgb, x_ir, labels)``: ``modality`` keeps one side as ``(x, labels)``
(the IR teacher's batches: a P x K pair batch's IR side is exactly a strong
baseline's P x K IR batch), and ``steps`` makes an epoch of exactly that many
batches, drawing the source again when it runs out (the notebooks' short runs).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

MODALITIES = ("rgb", "ir")


class EpochBatches:
    """``set_epoch(epoch, start_step)``, ``len()`` and iteration over ``source`` (see the module docstring).

    ``modality``: ``None`` (the batches as they are), ``"rgb"`` or ``"ir"``
    (one side of pair batches, ``(x, labels)``). ``steps``: ``None`` (one pass
    of the source per epoch) or the steps of an epoch, the source drawn again
    (without a new position) as often as needed.
    """

    def __init__(self, source: Iterable, *, modality: str | None = None, steps: int | None = None) -> None:
        if modality is not None and modality not in MODALITIES:
            raise ValueError(f"modality must be 'rgb' or 'ir', got {modality!r}")
        if steps is not None and steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        self.source, self.modality, self.steps = source, modality, steps
        self.skip = 0  # steps of a replayed list to skip (resuming mid-epoch)

    def _positioned(self):
        """What takes the position: the source itself, its sampler, or nothing (``None``)."""
        if hasattr(self.source, "set_epoch"):
            return self.source
        sampler = getattr(self.source, "sampler", None)
        return sampler if hasattr(sampler, "set_epoch") else None

    def __len__(self) -> int:
        if self.steps is not None:
            return self.steps
        target = self._positioned()
        return target.steps_per_epoch if hasattr(target, "steps_per_epoch") else len(self.source)

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Position the next iteration at ``epoch``, ``start_step`` steps in (the
        sampler skips them; a replayed list skips them itself)."""
        target = self._positioned()
        if target is not None:
            target.set_epoch(epoch, start_step) if start_step else target.set_epoch(epoch)
        elif isinstance(self.source, Sequence):
            self.skip = start_step
        elif start_step:
            raise ValueError("resuming mid-epoch needs a list of batches or a loader whose sampler has "
                             "set_epoch(epoch, start_step) (tsgan_lib.data.build_train_loader's)")

    def __iter__(self) -> Iterator:
        stop = None if self.steps is None else self.steps
        batches = itertools.islice(self._drawn(), self.skip, stop)
        return batches if self.modality is None else (one_side(batch, self.modality) for batch in batches)

    def _drawn(self) -> Iterator:
        """One pass of the source, or (with ``steps``) passes after passes."""
        if self.steps is None:
            yield from self.source
            return
        while True:
            empty = True
            for batch in self.source:
                empty = False
                yield batch
            if empty:
                raise ValueError("the batch iterable is empty")


def one_side(batch: Sequence, modality: str) -> tuple:
    """``(x, labels)`` of a pair batch ``(x_rgb, x_ir, labels, ...)``: the ``"ir"`` or ``"rgb"`` images."""
    x_rgb, x_ir, labels = batch[:3]
    return (x_ir if modality == "ir" else x_rgb), labels
