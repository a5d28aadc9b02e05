"""Loss terms as a dict of named, already-weighted tensors whose sum is the total.

Every composite loss of the paper (Eq. 2, 7, 8, 16) returns such a dict, so a
log line or a plot can show each term and ``sum_terms`` is the one place
where they are added up (fast-reid's habit).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

LossTerms = dict[str, Tensor]


def sum_terms(terms: Mapping[str, Tensor]) -> Tensor:
    """The total loss: the sum of the (already weighted) terms."""
    if not terms:
        raise ValueError("no loss terms to sum")
    return torch.stack([t.float() for t in terms.values()]).sum()


def detach_terms(terms: Mapping[str, Tensor]) -> dict[str, float]:
    """Plain floats for logging (one device sync per term)."""
    return {name: float(t.detach()) for name, t in terms.items()}
