"""IR teacher pretraining (strong-baseline recipe) and its checkpoint."""

from __future__ import annotations

import os
import signal
from dataclasses import replace

import pytest
import torch

from tsgan_lib.files import NetworkRecord, load_network, network_arch, save_network
from tsgan_lib.models import FrozenTeacher
from tsgan_lib.train import ScheduleConfig, TeacherConfig, lr_factor, pretrain_teacher
from tsgan_lib.train.schedule import build_scheduler

CPU = torch.device("cpu")


def recipe(epochs: int, warmup: int = 0, warmup_start: float | None = None, **kw) -> TeacherConfig:
    return TeacherConfig(schedule=ScheduleConfig(epochs=epochs, warmup_epochs=warmup, warmup_start=warmup_start,
                                                 milestones=(), gamma=0.1), **kw)


def test_lr_schedule_warmup_then_steps():
    f = [lr_factor(e, warmup_epochs=10, warmup_start=0.1, milestones=(40, 70), gamma=0.3) for e in range(80)]
    assert f[0] == pytest.approx(0.1) and f[5] == pytest.approx(0.55) and f[10] == 1.0
    assert f[39] == 1.0 and f[40] == pytest.approx(0.3) and f[70] == pytest.approx(0.09)


def test_the_warm_up_starts_at_r_start_over_e_warmup_unless_told_otherwise():
    # "linearly increasing from R_start / E_warmup to R_start" (paper IV.B)
    assert ScheduleConfig(warmup_epochs=10).warmup_first == pytest.approx(0.1)
    assert ScheduleConfig(warmup_epochs=4).warmup_first == pytest.approx(0.25)
    assert ScheduleConfig(warmup_epochs=0).warmup_first == 1.0
    assert ScheduleConfig(warmup_epochs=4, warmup_start=0.01).warmup_first == 0.01
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_scheduler(opt, ScheduleConfig(epochs=8, warmup_epochs=4, milestones=(6,)))
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert lrs == pytest.approx([0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0, 0.3, 0.3])
    assert TeacherConfig().schedule.warmup_first == 0.01, "the strong baseline's configs warm up from 0.01"


def _toy_loader(n_ids: int = 3, k: int = 4, steps: int = 2):
    # each identity is a constant image plus noise: learnable in a few steps
    torch.manual_seed(0)
    protos = torch.randn(n_ids, 3, 1, 1) * 2
    batches = []
    for _ in range(steps):
        pids = torch.arange(n_ids).repeat_interleave(k)
        imgs = protos[pids].expand(-1, 3, 64, 32) + 0.3 * torch.randn(len(pids), 3, 64, 32)
        batches.append((imgs, pids, torch.ones_like(pids)))
    return batches


@pytest.mark.slow
def test_pretrain_teacher_learns_and_logs():
    cfg = recipe(4, warmup=2, lr=1e-3, warmup_start=0.1)
    model, history = pretrain_teacher(_toy_loader(), num_classes=3, cfg=cfg, device=CPU, depth=18)
    assert len(history) == 4 * 2 and not model.training
    assert set(history[0]) == {"epoch", "step", "id", "tri", "total", "acc", "lr"}
    assert history[0]["lr"] == pytest.approx(1e-4) and history[-1]["lr"] == pytest.approx(1e-3)
    for row in history:
        assert row["total"] == pytest.approx(row["id"] + row["tri"], rel=1e-5)
    first = sum(r["total"] for r in history[:2]) / 2
    last = sum(r["total"] for r in history[-2:]) / 2
    assert last < first


def test_teacher_file_round_trip(tmp_path):
    cfg = recipe(1)
    model, _ = pretrain_teacher(_toy_loader(steps=1), num_classes=3, cfg=cfg, device=CPU, depth=18)
    path = save_network(tmp_path / "sub" / "teacher.pt", model,
                        NetworkRecord("teacher", network_arch(model), settings={"recipe": cfg.recipe()}))
    loaded, record = load_network(path, kind="teacher")
    assert record.arch == {"depth": 18, "num_classes": 3} and record.settings["recipe"]["schedule.milestones"] == []
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
    assert not loaded.training
    x = torch.randn(2, 3, 64, 32)
    torch.testing.assert_close(FrozenTeacher(loaded)(x), model.former(x))
    raw = torch.load(path, weights_only=True)  # plain tensors and values only
    assert set(raw) == {"format", "state_dict", "record"}


def test_table3_query_gallery_split():
    from tsgan_lib.data.records import Record
    from tsgan_lib.eval.single_modality import table3_query_gallery
    recs = [Record(f"/d/cam{c}/{p:04d}/{i:04d}.jpg", p, c, "ir" if c in (3, 6) else "rgb")
            for c in (1, 3, 6) for p in (1, 2) for i in (1, 2, 3)]
    query, gallery = table3_query_gallery(recs, "ir")
    assert [(r.pid, r.camid) for r in query] == [(1, 3), (2, 3), (1, 6), (2, 6)]
    assert all(r.path.endswith("0001.jpg") for r in query)
    assert len(gallery) == 8 and all(r.modality == "ir" for r in gallery)
    assert not set(query) & set(gallery)
    with pytest.raises(ValueError, match="no 'ir' records"):
        table3_query_gallery([r for r in recs if r.modality == "rgb"], "ir")


def test_epoch_batches_pick_one_side_and_forward_set_epoch():
    from tsgan_lib.data.batches import EpochBatches

    class Sampler:
        epoch = None

        def set_epoch(self, e, start_step=0):
            self.epoch, self.start_step = e, start_step

    class Loader(list):
        sampler = Sampler()

    rgb, ir, y = torch.zeros(2, 3, 4, 2), torch.ones(2, 3, 4, 2), torch.tensor([0, 1])
    loader = Loader([(rgb, ir, y)])
    view = EpochBatches(loader, modality="ir")
    view.set_epoch(3)
    (x, labels), = list(view)
    assert loader.sampler.epoch == 3 and torch.equal(x, ir) and torch.equal(labels, y) and len(view) == 1
    view.set_epoch(4, 7)  # resuming mid-epoch: the sampler skips the batches already done
    assert (loader.sampler.epoch, loader.sampler.start_step) == (4, 7)
    replay = EpochBatches([(rgb, ir, y), (ir, rgb, y)], modality="ir")
    replay.set_epoch(1, 1)  # a plain list of batches skips ahead itself
    assert [torch.equal(x, rgb) for x, _ in replay] == [True]
    with pytest.raises(ValueError, match="start_step"):
        EpochBatches(iter([(rgb, ir, y)]), modality="ir").set_epoch(1, 2)  # a bare iterator cannot skip ahead
    assert torch.equal(next(iter(EpochBatches(loader, modality="rgb")))[0], rgb)
    with pytest.raises(ValueError):
        EpochBatches(loader, modality="thermal")


def _quiet(msg: str) -> None:
    pass


@pytest.mark.slow
def test_interrupted_pretraining_resumes_to_the_same_weights(tmp_path):
    """Ctrl-C mid-epoch 2 writes a checkpoint; the second call resumes from it
    and ends bit-identical to an uninterrupted pretraining (real loader,
    random augmentations, so the RNG states must be restored too)."""
    from tsgan_lib.data import build_train_loader, load_dataset
    from tsgan_lib.data.batches import EpochBatches

    dataset = load_dataset(None, num_ids=24, seed=0)
    n = dataset.num_train_ids

    def loader():
        return build_train_loader(dataset.train, P=4, K=2, height=64, width=32, seed=0)

    class InterruptAt(EpochBatches):
        def __init__(self, at: int) -> None:
            super().__init__(loader(), modality="ir")
            self.at, self.seen = at, 0

        def __iter__(self):
            for batch in super().__iter__():
                self.seen += 1
                if self.seen == self.at:
                    os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends
                yield batch

    cfg = recipe(2, warmup=1, lr=1e-3)
    cpu = CPU
    torch.manual_seed(0)
    full, h_full = pretrain_teacher(EpochBatches(loader(), modality="ir"), n, cfg, cpu, depth=18)
    per_epoch = len(h_full) // 2
    ckpt = tmp_path / "teacher_checkpoint.pt"
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        pretrain_teacher(InterruptAt(per_epoch + 2), n, cfg, cpu, depth=18, checkpoint_path=ckpt, log=_quiet)
    state = torch.load(ckpt, weights_only=True)
    assert {k: state["progress"][k] for k in ("epoch", "step_in_epoch", "global_step")} == \
        {"epoch": 1, "step_in_epoch": 2, "global_step": per_epoch + 2}
    assert len(state["history"]) == per_epoch + 2

    torch.manual_seed(123)  # whatever the caller's RNG, the checkpoint's states are restored
    resumed, h = pretrain_teacher(EpochBatches(loader(), modality="ir"), n, cfg, cpu, depth=18, checkpoint_path=ckpt,
                                  log=_quiet)
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), f"{k} differs after resuming"
    assert h == h_full
    with pytest.raises(ValueError, match=r"another recipe \(lr: 0.001 -> 0.002\)"):
        pretrain_teacher(EpochBatches(loader(), modality="ir"), n, replace(cfg, lr=2e-3), cpu, depth=18,
                         checkpoint_path=ckpt)


@pytest.mark.slow
def test_pretraining_a_plain_loader_resumes_by_skipping_batches(tmp_path):
    cfg = recipe(2, lr=1e-3)
    cpu = CPU
    torch.manual_seed(0)
    full, h_full = pretrain_teacher(_toy_loader(steps=3), 3, cfg, cpu, depth=18)
    ckpt = tmp_path / "c.pt"

    def ctrl_c_after_epoch_1(epoch, history):
        if epoch == 0:
            os.kill(os.getpid(), signal.SIGINT)  # noticed after the next step: epoch 2, step 1

    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        pretrain_teacher(_toy_loader(steps=3), 3, cfg, cpu, depth=18, on_epoch_end=ctrl_c_after_epoch_1,
                         checkpoint_path=ckpt, log=_quiet)
    progress = torch.load(ckpt, weights_only=True)["progress"]
    assert (progress["epoch"], progress["step_in_epoch"], progress["global_step"]) == (1, 1, 4)
    resumed, h = pretrain_teacher(_toy_loader(steps=3), 3, cfg, cpu, depth=18, checkpoint_path=ckpt, log=_quiet)
    assert h == h_full
    for k, v in full.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k])
