"""Can the generator make identity-bearing fake IR images X_I' = G_I(X_R) within the demo's budget?

The CycleGAN alone (G_I, G_R, an ordinary PatchGAN D_I and D_R: no student, no
teacher in the loss), trained on the demo's batches for ``--epochs`` epochs at
several generator sizes and learning rates. After every epoch the frozen IR
teacher of the demo (its whole network) classifies X_I' of a fixed set of
training batches with X_R's labels (the ``fake_ir.teacher_acc`` probe of a run,
:mod:`tsgan_lib.train.probes`), beside its accuracy on the real X_I of the same
batches and chance (1 / training identities); also X_I''s colour spread (real
IR: 0). Judged by that probe, not by Rank-1: an X_I' the teacher cannot tell
apart carries no identity the TS losses or the ID loss could use.

    PYTHONPATH=. python benchmarks/study_generator.py --configs 8x2 16x4 32x6 --epochs 12 --threads 1

Prints one line per (config, epoch) and writes ``runs/bench/study_generator.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchlib import REPO, machine  # noqa: F401 (puts the repository on sys.path)
from tsgan_lib.data.config import load_data, train_batches
from tsgan_lib.models import (CycleGAN, CycleGANConfig, DiscriminatorConfig, FrozenTeacher, GeneratorConfig,
                              reid_to_gan)
from tsgan_lib.losses import TSLossConfig
from tsgan_lib.train import TSGANConfig, TSGANModels, resolve_config
from tsgan_lib.train.probes import fake_ir_identity
from tsgan_lib.train.steps import discriminator_step, generator_step, make_pools
from tsgan_lib.train.teacher import obtain_teacher
from tsgan_lib.utils import seed_everything


def probe(gan: CycleGAN, batches: list, teacher: FrozenTeacher) -> dict:
    """The teacher's accuracy on X_I' and on X_I over the fixed probe batches, and X_I''s colour spread."""
    totals: dict[str, float] = {}
    with torch.no_grad():
        for x_rgb, x_ir, labels in batches:
            cache = {"x_ir_fake": gan.gen_ir(reid_to_gan(x_rgb))}
            out = fake_ir_identity(TSGANModels(None, teacher, gan), x_ir, labels, cache)
            for k in ("fake_ir.teacher_acc", "fake_ir.teacher_acc_on_real_ir", "fake_ir.chroma"):
                totals[k] = totals.get(k, 0.0) + out[k] / len(batches)
    return totals


def study(cfg, ngf: int, n_blocks: int, lr: float, epochs: int, probe_batches: int, log=print) -> list[dict]:
    device = torch.device("cpu")
    dataset = load_data(cfg.data)
    teacher_net, record, _, _ = obtain_teacher(cfg.teacher, cfg.data, cfg.model, dataset, device, seed=cfg.run.seed,
                                               max_nonfinite=cfg.run.max_nonfinite, progress=cfg.run.progress, log=log)
    teacher = FrozenTeacher(teacher_net)
    seed_everything(cfg.run.seed)
    gan = CycleGAN(teacher.fmap_channels, CycleGANConfig(GeneratorConfig(ngf=ngf, n_blocks=n_blocks),
                                                         DiscriminatorConfig(ndf=cfg.model.discriminator.ndf),
                                                         joint_disc=False))
    s_cfg = TSGANConfig(joint_disc=False, gan=cfg.gan, ts=TSLossConfig(use_cross_domain=False, use_same_domain=False))
    models = TSGANModels(None, None, gan)
    opt_g = torch.optim.Adam(gan.generator_parameters(), lr=lr, betas=cfg.optim.betas_gan)
    opt_d = torch.optim.Adam(gan.discriminator_parameters(), lr=lr, betas=cfg.optim.betas_gan)
    pools = make_pools(s_cfg, cfg.run.seed)
    batches = train_batches(cfg.data, dataset, seed=cfg.run.seed, device=device)
    batches.set_epoch(0)
    fixed = [b[:3] for _, b in zip(range(probe_batches), batches)]
    rows, t0 = [], time.perf_counter()
    for epoch in range(epochs + 1):
        if epoch:
            batches.set_epoch(epoch)
            gan.train()
            for x_rgb, x_ir, *_ in batches:
                g = generator_step(models, opt_g, x_rgb, x_ir, s_cfg)
                discriminator_step(models, opt_d, x_rgb, x_ir, s_cfg, cache=g.cache, pools=pools)
        gan.eval()
        row = {"ngf": ngf, "n_blocks": n_blocks, "lr": lr, "epoch": epoch, "steps": epoch * len(batches),
               "seconds": round(time.perf_counter() - t0, 1), "chance": 1 / dataset.num_train_ids,
               **probe(gan, fixed, teacher)}
        rows.append(row)
        log(f"ngf {ngf:2d} x {n_blocks} blocks, lr {lr:.0e}, epoch {epoch:2d}: teacher on X_I' "
            f"{row['fake_ir.teacher_acc']:.1%} (on X_I {row['fake_ir.teacher_acc_on_real_ir']:.1%}, chance "
            f"{row['chance']:.1%}), colour spread {row['fake_ir.chroma']:.3f}, {row['seconds']:.0f} s")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--configs", nargs="+", default=["8x2", "16x4", "32x6"], help="generator sizes NGFxBLOCKS")
    ap.add_argument("--lrs", nargs="+", type=float, default=[2e-4], help="O_G / O_D learning rates")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--probe-batches", type=int, default=6)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--teacher", default=None, help="the IR teacher file (default runs/teacher/teacher_<preset>_s<seed>.pt; "
                    "trained there when absent or not fitting)")
    ap.add_argument("--out", default=str(REPO / "runs" / "bench" / "study_generator.json"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = resolve_config(args.preset, {"run.seed": args.seed, "run.progress": False,
                                       "teacher.path": args.teacher
                                       or f"runs/teacher/teacher_{args.preset}_s{args.seed}.pt"})
    rows = []
    for spec in args.configs:
        ngf, n_blocks = (int(v) for v in spec.split("x"))
        for lr in args.lrs:
            rows += study(cfg, ngf, n_blocks, lr, args.epochs, args.probe_batches)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"machine": machine(torch.device("cpu")), "preset": args.preset, "seed": args.seed, "rows": rows}
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
