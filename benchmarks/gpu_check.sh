#!/usr/bin/env bash
# The GPU check of the TS-GAN suite, for a machine with one H100/H200 (torch, torchvision, numpy, scipy,
# pandas, matplotlib, pyyaml, tqdm, pytest; no papermill/jupyter; no network), in at most 8 minutes.
#
#   usage (repository root as the working folder):  PYTHONPATH=. bash benchmarks/gpu_check.sh OUT_DIR
#
# Parts, each under its own `timeout`, all output tee'd into OUT_DIR/gpu_check.log; a part that fails or
# times out is recorded and the next part runs:
#   (1) device sanity (bf16 matmul vs an fp32 reference and its rate, a device-to-device copy's bandwidth,
#       all computed and compared on the device) and `pytest -m cuda` (the CUDA tests);
#   (2) the three benchmarks at the paper's settings (bf16, channels_last): train step (eager), inference
#       over batch sizes, the data path against the step; then the train step with --compile if the time
#       left allows;
#   (3) the paper's pipeline end to end (benchmarks/gpu_e2e.py): teacher, Algorithm 1, Ctrl-C, resume, protocol.
# At the end: a summary table (against the targets of the GPU issue), OUT_DIR/gpu_check_summary.json
# (every JSON combined), OUT_DIR/gpu_check_parts.tar.gz (every part's JSON and log) and the log: three
# files, few enough to copy back from a remote GPU machine. KEEP_PARTS=1 also keeps OUT_DIR/parts/.
#
# Environment: PYTHON (default python3), GPU_CHECK_BUDGET_S (default 470: the 8 minutes less a margin),
# GPU_CHECK_SMOKE=1 (tiny sizes: tests this script's plumbing on a CPU-only machine in about a minute).

set -u -o pipefail

OUT=${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR}
PY=${PYTHON:-python3}
BUDGET=${GPU_CHECK_BUDGET_S:-470}
SMOKE=${GPU_CHECK_SMOKE:-0}
export PYTHONPATH=${PYTHONPATH:-.}
export MPLBACKEND=Agg
mkdir -p "$OUT/parts"
PARTS="$OUT/parts"
LOG="$OUT/gpu_check.log"
: > "$LOG"
START=$(date +%s)
STATUS_FILE="$PARTS/status.tsv"
printf 'part\tstatus\tseconds\n' > "$STATUS_FILE"

log() { echo "$@" | tee -a "$LOG"; }

# run_part NAME LIMIT_S CMD...: run under `timeout`, capped by the time left; record rc and seconds.
run_part() {
    local name=$1 limit=$2; shift 2
    local now left t0 rc status
    now=$(date +%s); left=$(( BUDGET - (now - START) - 15 ))
    if (( left < 20 )); then
        log "=== [$name] skipped: ${left}s left of the ${BUDGET}s budget"
        printf '%s\tskipped (no time)\t0\n' "$name" >> "$STATUS_FILE"
        return 0
    fi
    (( limit > left )) && limit=$left
    log "=== [$name] $(date -u +%H:%M:%S) timeout ${limit}s: $*"
    t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$PARTS/$name.log" >> "$LOG"
    rc=${PIPESTATUS[0]}
    case $rc in
        0) status=ok ;;
        124|137) status="timed out (${limit}s)" ;;
        3) status="skipped (no CUDA device)" ;;
        *) status="failed (rc $rc)" ;;
    esac
    log "=== [$name] $status after $(( $(date +%s) - t0 ))s"
    printf '%s\t%s\t%s\n' "$name" "$status" "$(( $(date +%s) - t0 ))" >> "$STATUS_FILE"
    return 0
}

if [[ $SMOKE == 1 ]]; then
    TRAIN_ARGS=(--preset tiny --device cpu --warmup 0 --repeats 1 --threads 1)
    INFER_ARGS=(--preset tiny --device cpu --batch-sizes 2 --precisions fp32 --warmup 0 --repeats 1 --threads 1)
    DATA_ARGS=(--device cpu --synthetic-ids 12 --P 2 --K 2 --workers 0,1 --batches 2 --threads 1)
    PYTEST_ARGS=(-m cuda -q tests/test_tensor_pipeline.py tests/test_benchmarks.py)
else
    TRAIN_ARGS=(--preset paper --amp bf16 --channels-last)
    INFER_ARGS=(--preset paper --batch-sizes 64,128,256,512,1024 --precisions fp32,bf16,bf16-weights --channels-last)
    DATA_ARGS=(--height 288 --width 144 --P 8 --K 4 --workers 0,4,8,12 --batches 50)
    PYTEST_ARGS=(-m cuda -q tests/ --continue-on-collection-errors)
fi

log "gpu_check: $(date -u +%Y-%m-%dT%H:%M:%SZ), budget ${BUDGET}s, smoke=$SMOKE, git $(git rev-parse --short HEAD 2>/dev/null || echo '?'), python $PY"

# ---- (1) the device and the CUDA tests -------------------------------------------------------------
run_part env 30 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu --format=csv || echo 'nvidia-smi: not available'; $PY -c 'import torch, torchvision, numpy, scipy; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"cudnn\", torch.backends.cudnn.version(), \"torchvision\", torchvision.__version__, \"numpy\", numpy.__version__, \"scipy\", scipy.__version__); print(\"cuda available:\", torch.cuda.is_available())'"

run_part sanity 60 "$PY" - "$PARTS/sanity.json" <<'PYEOF'
"""Device sanity: does the GPU compute right, and at what rates (METHOD.md's two ceilings)."""
import json, sys, time
import torch
out = {"cuda": torch.cuda.is_available()}
if not torch.cuda.is_available():
    print("no CUDA device: sanity check skipped"); json.dump(out, open(sys.argv[1], "w")); sys.exit(3)  # 3: skipped (see run_part)
dev = torch.device("cuda")
p = torch.cuda.get_device_properties(dev)
out.update(device=torch.cuda.get_device_name(dev), capability=list(torch.cuda.get_device_capability(dev)),
           memory_gb=p.total_memory / 1e9, multiprocessors=p.multi_processor_count, torch=torch.__version__,
           bf16_supported=torch.cuda.is_bf16_supported())
g = torch.Generator(device=dev).manual_seed(0)
# correctness on fresh random data, compared on the device (only scalars come back)
a = torch.randn(2048, 2048, device=dev, generator=g); b = torch.randn(2048, 2048, device=dev, generator=g)
ref = (a.double() @ b.double())
for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
    c = (a.to(dt) @ b.to(dt)).double()
    out[f"matmul_{name}_rel_err"] = float((c - ref).norm() / ref.norm())
xc = torch.randn(8, 64, 72, 36, device=dev, generator=g); wc = torch.randn(64, 64, 3, 3, device=dev, generator=g)
conv_ref = torch.nn.functional.conv2d(xc.double(), wc.double(), padding=1)
with torch.autocast("cuda", dtype=torch.bfloat16):
    conv = torch.nn.functional.conv2d(xc.contiguous(memory_format=torch.channels_last), wc, padding=1)
out["conv_bf16_channels_last_rel_err"] = float((conv.double() - conv_ref).norm() / conv_ref.norm())
out["conv_finite"] = bool(torch.isfinite(conv).all()) and out["conv_bf16_channels_last_rel_err"] < 2e-2
# the two ceilings: a large bf16 matmul (random data, rotating 2 input sets) and a device-to-device copy
n = 8192
xs = [torch.randn(n, n, device=dev, dtype=torch.bfloat16, generator=g) for _ in range(2)]
w = torch.randn(n, n, device=dev, dtype=torch.bfloat16, generator=g)
for i in range(3):
    xs[i % 2] @ w
torch.cuda.synchronize()
e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
e0.record()
for i in range(10):
    xs[i % 2] @ w
e1.record(); torch.cuda.synchronize()
out["bf16_matmul_8192_tflops"] = 10 * 2 * n ** 3 / (e0.elapsed_time(e1) / 1e3) / 1e12
src = torch.empty(1 << 30, dtype=torch.uint8, device=dev).random_(generator=g); dst = torch.empty_like(src)
dst.copy_(src); torch.cuda.synchronize()
e0.record()
for _ in range(10):
    dst.copy_(src)
e1.record(); torch.cuda.synchronize()
out["d2d_copy_tb_s_read_plus_write"] = 10 * 2 * src.numel() / (e0.elapsed_time(e1) / 1e3) / 1e12
ok = out["matmul_fp32_rel_err"] < 1e-3 and out["matmul_bf16_rel_err"] < 2e-2 and out["conv_finite"]
out["ok"] = bool(ok)
print(json.dumps(out, indent=1))
json.dump(out, open(sys.argv[1], "w"), indent=1)
sys.exit(0 if ok else 1)
PYEOF

run_part pytest_cuda 150 "$PY" -m pytest "${PYTEST_ARGS[@]}" -p no:cacheprovider -rs --junitxml "$PARTS/pytest_cuda.xml"

# ---- (2) the benchmarks at the paper's settings -------------------------------------------------------
run_part train_step 150 "$PY" benchmarks/bench_train_step.py "${TRAIN_ARGS[@]}" --out "$PARTS/train_step.json"
run_part inference 100 "$PY" benchmarks/bench_inference.py "${INFER_ARGS[@]}" --out "$PARTS/inference.json"
STEP_JSON=()
[[ -f $PARTS/train_step.json ]] && STEP_JSON=(--step-json "$PARTS/train_step.json")
run_part data 120 "$PY" benchmarks/bench_data.py "${DATA_ARGS[@]}" "${STEP_JSON[@]}" --out "$PARTS/data.json"
# ---- (3) the paper's pipeline end to end: teacher, Algorithm 1 with a Ctrl-C and a resume, the protocol ------
# (the synthetic stand-in at 288x144, ResNet-50 from scratch, bf16, channels-last, the tensor input pipeline)
E2E_ARGS=(--steps 300)
[[ ${GPU_CHECK_SMOKE:-0} == 1 ]] && E2E_ARGS=(--smoke --steps 20)
run_part train_e2e 170 "$PY" benchmarks/gpu_e2e.py "${E2E_ARGS[@]}" --out "$PARTS/train_e2e.json" \
    --run-dir "${TMPDIR:-/tmp}/tsgan_gpu_e2e_run"  # its checkpoints are large: outside OUT

# last: torch.compile takes what time is left (compilation of ResNet-50 + 2 generators + 2 D's)
run_part train_step_compile 240 "$PY" benchmarks/bench_train_step.py "${TRAIN_ARGS[@]}" --compile --skip-backbone \
    --no-census --out "$PARTS/train_step_compile.json"

# ---- summary -------------------------------------------------------------------------------------------
"$PY" - "$OUT" <<'PYEOF' 2>&1 | tee -a "$LOG"
import csv, json, sys
from pathlib import Path
out = Path(sys.argv[1]); parts = out / "parts"
def load(name):
    p = parts / f"{name}.json"
    try:
        return json.loads(p.read_text())
    except Exception:
        return None
status = list(csv.DictReader(open(parts / "status.tsv"), delimiter="\t"))
reports = {n: load(n) for n in ("sanity", "train_step", "train_step_compile", "inference", "data", "train_e2e")}
print("\n==== gpu_check summary ====")
w = max(len(r["part"]) for r in status)
for r in status:
    print(f"  {r['part']:<{w}}  {r['status']:<22} {r['seconds']:>4}s")
def fmt(v, spec=".3g"):
    return "-" if v is None else format(v, spec)
ts, tc, inf, data, san = (reports[k] for k in ("train_step", "train_step_compile", "inference", "data", "sanity"))
rows = []
if san and san.get("cuda"):
    rows.append(("device", san.get("device"), "", f"bf16 matmul {fmt(san.get('bf16_matmul_8192_tflops'), '.0f')} TFLOP/s, "
                 f"copy {fmt(san.get('d2d_copy_tb_s_read_plus_write'), '.2f')} TB/s"))
for name, r in (("train step (eager)", ts), ("train step (compile)", tc)):
    if r:
        f = r["full_step"]
        rows.append((f"{name}: MFU", fmt(r.get("mfu")), ">= 0.35", f"{fmt(r['images_per_s'], '.0f')} img/s, "
                     f"{fmt(r['flops_per_step'] / 1e12, '.1f')} TFLOP/step, phases ms "
                     + "/".join(f"{1e3 * v:.1f}" for v in f["phases_s_median"].values())
                     + (f", compile {f['compile_s']:.0f} s" if f.get("compile_s") else "")))
        rows.append((f"{name}: peak GB", fmt(r.get("peak_mem_gb")), "< 30", ""))
        if r.get("backbone_images_per_s"):
            rows.append(("backbone-only step img/s", fmt(r["backbone_images_per_s"], ".0f"), ">= 3000",
                         f"MFU {fmt(r['backbone_step'].get('mfu'))}"))
if inf:
    rows.append((f"inference {inf.get('images_per_s_precision')} img/s (best batch)", fmt(inf.get("images_per_s"), ".0f"), ">= 5000",
                 ", ".join(f"{k} {fmt(v, '.0f')}" for k, v in (inf.get("images_per_s_by_precision") or {}).items())))
if data:
    c = data.get("consumption", {})
    rows.append(("data path img/s (tensor, best)", fmt(data.get("images_per_s"), ".0f"), ">= 2x step",
                 f"PIL best {fmt(data.get('pil_best_images_per_s'), '.0f')}; step {fmt(c.get('full_step_images_per_s'), '.0f')}, "
                 f"backbone {fmt(c.get('backbone_step_images_per_s'), '.0f')}; >= 2x: {data.get('meets_2x_fastest_step')}"))
e2e = reports["train_e2e"]
if e2e:
    m = e2e.get("metrics", {}).get("all_single", {})
    rows.append(("end-to-end run (all checks pass)", str(all(e2e.get("checks", {}).values())), "True",
                 f"{e2e.get('global_step')} steps, resumed from {e2e.get('resumed_from_step')}, "
                 f"{fmt(e2e.get('images_per_s'), '.0f')} img/s, peak {fmt(e2e.get('peak_mem_gb'))} GB, R1 "
                 f"{fmt(m.get('R1'), '.1f')} mAP {fmt(m.get('mAP'), '.1f')}, failed: "
                 + (", ".join(k for k, ok in e2e.get("checks", {}).items() if not ok) or "none")))
if rows:
    w0 = max(len(r[0]) for r in rows)
    print()
    for r in rows:
        print(f"  {r[0]:<{w0}}  {str(r[1]):>10}  {r[2]:<9} {r[3]}")
summary = {"status": status, **{k: v for k, v in reports.items()}}
(out / "gpu_check_summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
print(f"\nwrote {out / 'gpu_check_summary.json'}")
PYEOF

tar -czf "$OUT/gpu_check_parts.tar.gz" -C "$OUT" parts && log "wrote $OUT/gpu_check_parts.tar.gz (every part's JSON and log)"
[[ ${KEEP_PARTS:-0} == 1 ]] || rm -rf "$PARTS"
log "gpu_check done in $(( $(date +%s) - START ))s; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
