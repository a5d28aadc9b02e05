"""The fit loop's checkpoint: components registered per rank (each DDP rank's history of fakes)."""

from __future__ import annotations

import torch

from tsgan_lib.data.batches import EpochBatches
from tsgan_lib.train import FitLoop, LoopConfig
from tsgan_lib.train.pool import SamplePool


def _loop(path, pool: SamplePool, epochs: int, log=print) -> FitLoop:
    def step(batch) -> dict[str, torch.Tensor]:
        out, = pool.query(batch)
        return {"mean": out.mean()}

    batches = EpochBatches([torch.randn(3, 2) for _ in range(2)])
    cfg = LoopConfig(epochs=epochs, progress=False, checkpoint_path=path)
    return FitLoop("pools", step, batches, cfg, device=torch.device("cpu"), log=log).register_per_rank(pool=pool)


def _same(a: dict, b: dict) -> bool:
    return (a["count"] == b["count"] and all(torch.equal(x, y) for x, y in zip(a["buffers"], b["buffers"]))
            and torch.equal(a["generator"], b["generator"]))


def test_per_rank_components_are_gathered_into_the_checkpoint_and_each_rank_gets_its_own_back(tmp_path):
    path = tmp_path / "checkpoint.pt"
    trained = SamplePool(4, seed=1)
    _loop(path, trained, epochs=1).fit()
    ckpt = torch.load(path, weights_only=True)
    assert "pool" not in ckpt and len(ckpt["per_rank"]) == 1 and _same(ckpt["per_rank"][0]["pool"],
                                                                        trained.state_dict())
    resumed = SamplePool(4, seed=2)
    _loop(path, resumed, epochs=1).fit()  # a finished run: resuming restores, trains nothing
    assert _same(resumed.state_dict(), trained.state_dict())

    ckpt["per_rank"] = ckpt["per_rank"] * 2  # written by two processes: this job of one does not take rank 0's
    ckpt["rng"] = ckpt["rng"] * 2
    torch.save(ckpt, path)
    lines: list[str] = []
    fresh = SamplePool(4, seed=3)
    _loop(path, fresh, epochs=1, log=lines.append).fit()
    assert fresh.count == 0 and any("histories of fakes do not" in line for line in lines)
