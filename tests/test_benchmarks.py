"""CI smoke tests of the benchmarks (tiny CPU sizes, in-process: seconds, no timing
asserts), and the CUDA checks that benchmarks/gpu_check.sh runs on the GPU machine
(`pytest -m cuda`): train_step under bf16 + channels_last and under fp16 with
GradScalers, distances and re-ranking on CUDA tensors against the CPU.

Each CUDA check is a helper that also runs on the CPU where the CPU supports
it (bf16 autocast), so the check itself is exercised in CI."""

from __future__ import annotations

import copy
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tsgan_lib.models import (CycleGAN, CycleGANConfig, DiscriminatorConfig, FrozenTeacher, GeneratorConfig,
                              build_backbone)
from tsgan_lib.train.steps import TSGANConfig, TSGANModels, make_optimizers, train_step

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
REQUIRED = ("device", "torch", "settings", "images_per_s", "peak_mem_gb", "date", "command")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def one_thread():
    """The benchmarks' --threads 1 sets torch's global thread count: restore it."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _check_common(report: dict, path: Path) -> dict:
    on_disk = json.loads(path.read_text())
    assert on_disk["images_per_s"] == pytest.approx(report["images_per_s"])
    for key in REQUIRED:
        assert key in on_disk, key
    assert _positive(on_disk["images_per_s"]) and _positive(on_disk["peak_mem_gb"])
    assert on_disk["device"].startswith("cpu") and on_disk["torch"] == torch.__version__
    assert on_disk["command"].startswith("PYTHONPATH=. python benchmarks/")
    return on_disk


def test_bench_train_step_smoke(tmp_path, one_thread):
    out = tmp_path / "train_step.json"
    rep = _load("bench_train_step").main(["--preset", "tiny", "--device", "cpu", "--warmup", "0", "--repeats", "1",
                                          "--threads", "1", "--out", str(out)])
    rep = _check_common(rep, out)
    assert _positive(rep["flops_per_step"]) and rep["mfu"] is None          # no MFU on the CPU
    full, bb = rep["full_step"], rep["backbone_step"]
    assert set(full["phases_s_median"]) == {"G", "backbone", "D"} and set(bb["phases_s_median"]) == {"backbone"}
    for r in (full, bb):
        assert all(_positive(v) for v in r["phases_s_median"].values())
        assert _positive(r["images_per_s"]) and _positive(r["achieved_tflops"]) and r["losses_finite"]
        assert r["images_per_step"] == 2 * 2 * 2
    assert full["flops_per_step"] > bb["flops_per_step"] > 0               # the GAN adds work
    assert sum(full["phase_flops"].values()) == full["flops_per_step"]
    census = full["forward_calls"]
    pm = census["per_module"]
    # X_I' = G_I(X_R) is made once (in the G phase) and reused: no generator runs after the G phase
    assert pm["G_I"]["calls_per_phase"] == {"G": 2, "backbone": 0, "D": 0}
    assert pm["G_R"]["calls_per_phase"] == {"G": 2, "backbone": 0, "D": 0}
    assert pm["student"]["calls"] == 1 and pm["student"]["images"] == 3 * 4
    teacher_calls = [c for c in census["calls"] if c["module"] == "teacher FE_T"]
    assert all(not c["grad_enabled"] for c in teacher_calls if c["phase"] == "backbone")
    assert {c["module"] for c in census["recomputed_calls"]} <= {"teacher FE_T", "D_I", "D_R"}


def test_bench_train_step_options(tmp_path, one_thread):
    """--amp bf16 --channels-last --fused on the CPU, full step only."""
    out = tmp_path / "ts.json"
    rep = _load("bench_train_step").main(["--preset", "tiny", "--device", "cpu", "--warmup", "0", "--repeats", "1",
                                          "--amp", "bf16", "--channels-last", "--fused", "--skip-backbone",
                                          "--no-census", "--threads", "1", "--out", str(out)])
    rep = _check_common(rep, out)
    assert rep["settings"]["amp"] == "bf16" and rep["settings"]["fused_adam"] and rep["full_step"]["losses_finite"]
    assert "backbone_step" not in rep


def test_fused_like_keeps_the_groups():
    bench = _load("bench_train_step")
    student = build_backbone(3, 18)
    opts = make_optimizers(TSGANModels(student))
    fused = bench.fused_like(opts["b"])
    assert fused.defaults["fused"] is True
    for a, b in zip(opts["b"].param_groups, fused.param_groups):
        assert a["lr"] == b["lr"] and a["weight_decay"] == b["weight_decay"] and a["params"] == b["params"]


def test_bench_inference_smoke(tmp_path, one_thread):
    out = tmp_path / "inference.json"
    rep = _load("bench_inference").main(["--preset", "tiny", "--device", "cpu", "--batch-sizes", "2,4",
                                         "--precisions", "fp32,bf16", "--warmup", "0", "--repeats", "1",
                                         "--threads", "1", "--out", str(out)])
    rep = _check_common(rep, out)
    assert len(rep["points"]) == 4 and all(_positive(p["images_per_s"]) and p["finite"] for p in rep["points"])
    paper = rep["census_paper"]
    test_time = paper["test-time model (FE_S + LE_S + GAP -> V)"]
    system = paper["training-time system (student + FE_T + G_I + G_R + D_I + D_R)"]
    assert 20e6 < test_time["params"] < 30e6                        # ResNet-50 trunk, about 23.5 M
    assert test_time["params"] < system["params"] and test_time["forward_gflops_per_image"] < system["forward_gflops_per_image"]
    assert 0 < paper["_test_time_share"]["params"] < 1


def test_bench_data_smoke(tmp_path, one_thread):
    step = tmp_path / "step.json"
    step.write_text(json.dumps({"images_per_s": 100.0, "backbone_images_per_s": 300.0, "device": "x"}))
    out = tmp_path / "data.json"
    rep = _load("bench_data").main(["--device", "cpu", "--synthetic-ids", "12", "--data-dir", str(tmp_path / "data"),
                                    "--P", "2", "--K", "2", "--workers", "0,1", "--warmup", "1", "--batches", "2",
                                    "--step-json", str(step), "--threads", "1", "--out", str(out)])
    rep = _check_common(rep, out)
    paths = {(r["path"], r["workers"], r["resident"]) for r in rep["paths"]}
    assert paths == {("pil", 0, None), ("pil", 1, None), ("tensor", 0, False), ("tensor", 0, True)}
    assert all(_positive(r["images_per_s"]) and _positive(r["x_full_step"]) for r in rep["paths"])
    for r in rep["paths"]:  # each path against the step's consumption that step.json states
        assert r["x_full_step"] == pytest.approx(r["images_per_s"] / 100.0)
        assert r["x_backbone_step"] == pytest.approx(r["images_per_s"] / 300.0)
    assert rep["meets_2x_fastest_step"] == (rep["images_per_s"] >= 2 * 300.0)
    assert _positive(rep["cache_build"]["bytes"]) and rep["cache_build"]["images"] == rep["settings"]["rgb_images"] + rep["settings"]["ir_images"]


# --- the CUDA checks (and their CPU twins) -----------------------------------------------------------

def _tiny_models(device, channels_last: bool):
    torch.manual_seed(0)
    student = build_backbone(num_classes=3, depth=18).train()
    teacher = FrozenTeacher(build_backbone(num_classes=3, depth=18))
    gan = CycleGAN(student.fmap_channels, CycleGANConfig(GeneratorConfig(ngf=8, n_blocks=1), DiscriminatorConfig(ndf=8)))
    fmt = torch.channels_last if channels_last else torch.preserve_format
    for m in (student, teacher, gan):
        m.to(device=device, memory_format=fmt)
    return TSGANModels(student, teacher, gan)


def _check_train_step(device: str, amp: torch.dtype, channels_last: bool, fp16_scalers: bool, steps: int = 2):
    """``train_step`` on ``device`` under ``amp``: finite losses, the student,
    generators and discriminators move, the teacher does not, parameters stay
    finite (and channels-last where asked)."""
    models = _tiny_models(device, channels_last)
    opts = make_optimizers(models)
    scalers = {k: torch.amp.GradScaler(torch.device(device).type, init_scale=2.0 ** 10) for k in opts} \
        if fp16_scalers else None
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    g = torch.Generator().manual_seed(1)
    x_rgb, x_ir = (torch.randn(4, 3, 64, 32, generator=g).to(device).contiguous(memory_format=fmt) for _ in range(2))
    y = torch.tensor([0, 0, 1, 1], device=device)
    before = {"student": copy.deepcopy(models.student.state_dict()),
              "teacher": copy.deepcopy(models.teacher.former.state_dict()),
              "gen": copy.deepcopy(models.cyclegan.gen_ir.state_dict()),
              "disc": copy.deepcopy(models.cyclegan.disc_ir.state_dict())}
    for _ in range(steps):
        terms = train_step(models, opts["g"], opts["b"], opts["d"], x_rgb, x_ir, y, TSGANConfig(), amp_dtype=amp,
                           scalers=scalers, as_float=False)
        assert all(v.device.type == torch.device(device).type for v in terms.values())
        vals = {k: float(v) for k, v in terms.items()}
        assert all(math.isfinite(v) for v in vals.values()), vals
    after = {"student": models.student.state_dict(), "teacher": models.teacher.former.state_dict(),
             "gen": models.cyclegan.gen_ir.state_dict(), "disc": models.cyclegan.disc_ir.state_dict()}
    for name in ("student", "gen", "disc"):
        assert any(not torch.equal(v, after[name][k]) for k, v in before[name].items() if v.is_floating_point()), name
    assert all(torch.equal(v, after["teacher"][k]) for k, v in before["teacher"].items())
    for m in (models.student, models.cyclegan):
        assert all(torch.isfinite(p).all() for p in m.parameters())
    if channels_last:
        w = models.student.former.conv1.weight
        assert w.is_contiguous(memory_format=torch.channels_last)
    if scalers:
        assert all(math.isfinite(s.get_scale()) and s.get_scale() > 0 for s in scalers.values())


def test_train_step_bf16_channels_last_on_cpu(one_thread):
    torch.set_num_threads(1)  # 2 threads on a shared 2-core machine are several times slower
    _check_train_step("cpu", torch.bfloat16, channels_last=True, fp16_scalers=False)


@pytest.mark.cuda
def test_cuda_train_step_bf16_channels_last():
    _check_train_step("cuda", torch.bfloat16, channels_last=True, fp16_scalers=False)


@pytest.mark.cuda
def test_cuda_train_step_fp16_with_grad_scalers():
    _check_train_step("cuda", torch.float16, channels_last=True, fp16_scalers=True, steps=4)


@pytest.mark.cuda
def test_cuda_distances_and_rerank_match_cpu():
    from tsgan_lib.eval import euclidean_distance, k_reciprocal_rerank

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 256)).astype(np.float32)
    q = torch.from_numpy(centres[rng.integers(0, 20, 150)] + 0.7 * rng.normal(size=(150, 256)).astype(np.float32))
    gal = torch.from_numpy(centres[rng.integers(0, 20, 300)] + 0.7 * rng.normal(size=(300, 256)).astype(np.float32))
    cpu = [euclidean_distance(a, b) for a, b in ((q, gal), (q, q), (gal, gal))]
    gpu = [euclidean_distance(a.cuda(), b.cuda()) for a, b in ((q, gal), (q, q), (gal, gal))]
    for c, d in zip(cpu, gpu):
        assert d.device.type == "cuda"
        torch.testing.assert_close(d.cpu(), c, rtol=1e-4, atol=1e-3)
    # re-ranking of the same distance matrices, on the GPU (CUDA tensors in) and on the CPU
    rr_cpu = k_reciprocal_rerank(*cpu)
    rr_gpu = k_reciprocal_rerank(*(c.cuda() for c in cpu))
    assert isinstance(rr_gpu, np.ndarray) and rr_gpu.shape == (150, 300)
    np.testing.assert_allclose(rr_gpu, rr_cpu, rtol=1e-4, atol=1e-5)
    assert (rr_gpu.argmin(1) == rr_cpu.argmin(1)).all()
