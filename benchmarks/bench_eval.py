"""Benchmark of tsgan_lib.eval against the classic NumPy code of the peers.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/bench_eval.py [--out runs/bench/eval.json] [--repeats 5]

Measures, on seeded random data of SYSU-MM01's sizes, with time.perf_counter,
one warm-up call and the median of repeats:

1. ``evaluate_sysu`` on a 3,803 x 3,010 distance matrix (multi-shot size),
   against the classic per-query loop (argsort, filter, distinct ids by
   np.unique, list comprehensions), written below; results are compared.
   Also: the distances themselves in float32 and in float64 (the
   protocol's, as the driver computes them), ``evaluate_sysu`` on the
   float64 matrix, and on quantised features (many exact ties) how far the
   float32 ranking strays from the float64 one.
2. ``k_reciprocal_rerank`` of 3,803 query + 301 gallery 2,048-d features,
   against the classic dense re-ranking (written below); results compared.
   Also: the distance computation, and multi-shot size (3,803 + 3,010).
3. The driver: all/indoor x single/multi-shot x 10 trials from precomputed
   features (SYSU-MM01's exact test structure when ../shared is present),
   without and with re-ranking.

Prints the figures and writes them as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tsgan_lib.data.records import Record  # noqa: E402
from tsgan_lib.eval import (EVAL_DTYPE, euclidean_distance, evaluate_sysu, evaluate_sysu_features,  # noqa: E402
                            k_reciprocal_rerank, summarize)

NUM_QUERY, NUM_IDS, DIM = 3803, 96, 2048


# --- the classic NumPy implementations (reference for the speed-up) -----------------------------

def classic_eval_sysu(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=20):
    """The per-query loop found in the peer repositories (our own wording)."""
    order_all = np.argsort(distmat, axis=1)
    labels_sorted = g_pids[order_all]
    is_match = (labels_sorted == q_pids[:, None]).astype(np.int32)
    cmcs, aps, inps = [], [], []
    for q in range(distmat.shape[0]):
        order = order_all[q]
        keep = ~((q_camids[q] == 3) & (g_camids[order] == 2))
        ranked_ids = labels_sorted[q][keep]
        first_idx = np.unique(ranked_ids, return_index=True)[1]
        distinct = [ranked_ids[i] for i in sorted(first_idx)]
        distinct_cmc = (np.asarray(distinct) == q_pids[q]).astype(np.int32).cumsum()
        raw = is_match[q][keep]
        if not raw.any():
            continue
        hits = raw.cumsum()
        last = np.where(raw == 1)[0].max()
        inps.append(hits[last] / (last + 1.0))
        distinct_cmc[distinct_cmc > 1] = 1
        cmcs.append(distinct_cmc[:max_rank])
        precision = np.asarray([h / (i + 1.0) for i, h in enumerate(hits)]) * raw
        aps.append(precision.sum() / raw.sum())
    return {"cmc": np.asarray(cmcs, dtype=np.float32).sum(0) / len(cmcs), "mAP": float(np.mean(aps)),
            "mINP": float(np.mean(inps))}


def classic_rerank(q_g, q_q, g_g, k1=20, k2=6, lambda_value=0.3):
    """Dense k-reciprocal re-ranking as in the peer repositories (our own wording)."""
    nq, n = q_g.shape[0], q_g.shape[0] + q_g.shape[1]
    full = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(np.float32) ** 2
    full = (full / full.max(axis=0)).T
    V = np.zeros_like(full)
    rank = np.argsort(full).astype(np.int32)
    kh = int(np.around(k1 / 2.0))

    def reciprocal(i, k):
        fwd = rank[i, :k + 1]
        return fwd[np.where(rank[fwd, :k + 1] == i)[0]]

    for i in range(n):
        r_i = reciprocal(i, k1)
        expanded = r_i
        for c in r_i:
            r_c = reciprocal(c, kh)
            if len(np.intersect1d(r_c, r_i)) > 2.0 / 3 * len(r_c):
                expanded = np.append(expanded, r_c)
        expanded = np.unique(expanded)
        w = np.exp(-full[i, expanded])
        V[i, expanded] = w / w.sum()
    original = full[:nq]
    if k2 != 1:
        V = np.stack([V[rank[i, :k2]].mean(axis=0) for i in range(n)])
    inverted = [np.where(V[:, j] != 0)[0] for j in range(n)]
    jaccard = np.zeros_like(original)
    for i in range(nq):
        overlap = np.zeros(n, dtype=np.float32)
        for j in np.where(V[i] != 0)[0]:
            overlap[inverted[j]] += np.minimum(V[i, j], V[inverted[j], j])
        jaccard[i] = 1 - overlap / (2.0 - overlap)
    return (jaccard * (1 - lambda_value) + original * lambda_value)[:, nq:]


# --- data ---------------------------------------------------------------------------------------

def features(rng, pids, modality_shift, noise=4.5):
    """Identity centre + noise + a shared IR offset. noise=4.5 gives a mid-range
    difficulty (multi-shot all-search R1 about 0.6), not a trivial ranking."""
    centres = rng.normal(size=(int(pids.max()) + 1, DIM)).astype(np.float32)
    shift = rng.normal(size=DIM).astype(np.float32)
    f = centres[pids] + noise * rng.normal(size=(len(pids), DIM)).astype(np.float32)
    return torch.from_numpy(f + modality_shift[:, None] * shift)


def test_structure(rng):
    """Records with SYSU-MM01's exact test structure (or a look-alike)."""
    path = REPO.parent / "shared" / "sysu_official" / "sysu_test_structure.json"
    if path.exists():
        per_cam = json.loads(path.read_text())["test_images_per_camera_and_id"]
        counts = {int(c[3:]): {int(p): int(n) for p, n in v.items() if int(n)} for c, v in per_cam.items()}
        source = "exact SYSU-MM01 test structure"
    else:
        counts = {c: {p: int(rng.integers(10, 40)) for p in range(1, NUM_IDS + 1) if c > 2 or p <= 56}
                  for c in range(1, 7)}
        source = "look-alike structure (../shared absent)"
    records = [Record(f"/sysu/cam{c}/{p:04d}/{i:04d}.jpg", p, c, "ir" if c in (3, 6) else "rgb")
               for c in sorted(counts) for p in sorted(counts[c]) for i in range(1, counts[c][p] + 1)]
    return records, source


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="runs/bench/eval.json", help="JSON output path")
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats of our functions (median)")
    ap.add_argument("--classic-repeats", type=int, default=3, help="timed repeats of the classic code")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    report = {"machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "python": platform.python_version(), "numpy": np.__version__,
                          "torch": torch.__version__, "processor": platform.processor() or platform.machine()}}

    # 1. evaluate_sysu on 3,803 x 3,010
    ng = 3010
    q_pids = rng.integers(0, NUM_IDS, NUM_QUERY)
    g_pids = np.repeat(np.arange(NUM_IDS), int(np.ceil(ng / NUM_IDS)))[:ng]
    q_cams, g_cams = rng.choice([3, 6], NUM_QUERY), rng.choice([1, 2, 4, 5], ng)
    f = features(rng, np.concatenate([q_pids, g_pids]), np.r_[np.ones(NUM_QUERY), np.zeros(ng)])
    dist = euclidean_distance(f[:NUM_QUERY], f[NUM_QUERY:]).numpy()
    ours_t, ours = timed(lambda: evaluate_sysu(dist, q_pids, g_pids, q_cams, g_cams), args.repeats)
    classic_t, classic = timed(lambda: classic_eval_sysu(dist, q_pids, g_pids, q_cams, g_cams), args.classic_repeats)
    diff = max(float(np.abs(ours["cmc"] - classic["cmc"]).max()), abs(ours["mAP"] - classic["mAP"]),
               abs(ours["mINP"] - classic["mINP"]))
    report["evaluate_sysu_3803x3010"] = {"ours_s": ours_t, "classic_s": classic_t, "speedup": classic_t / ours_t,
                                         "max_metric_diff": diff, "R1": float(ours["cmc"][0]), "mAP": ours["mAP"]}
    qf3, gf3 = f[:NUM_QUERY], f[NUM_QUERY:]
    d32_t, _ = timed(lambda: euclidean_distance(qf3, gf3), args.repeats)
    d64_t, dist64 = timed(lambda: euclidean_distance(qf3, gf3, dtype=EVAL_DTYPE), args.repeats)
    dist64 = dist64.numpy()
    ours64_t, ours64 = timed(lambda: evaluate_sysu(dist64, q_pids, g_pids, q_cams, g_cams), args.repeats)
    quant = torch.round(f / 8).clamp_min(0)  # non-negative, coarsely quantised: many exactly tied distances
    tie32 = evaluate_sysu(euclidean_distance(quant[:NUM_QUERY], quant[NUM_QUERY:]), q_pids, g_pids, q_cams, g_cams)
    tie64 = evaluate_sysu(euclidean_distance(quant[:NUM_QUERY], quant[NUM_QUERY:], dtype=EVAL_DTYPE),
                          q_pids, g_pids, q_cams, g_cams)
    report["float64_3803x3010"] = {
        "distances_float32_s": d32_t, "distances_float64_s": d64_t, "evaluate_sysu_float64_s": ours64_t,
        "R1_float64_minus_float32": float(ours64["cmc"][0] - ours["cmc"][0]),
        "quantised_R1_float32": float(tie32["cmc"][0]), "quantised_R1_float64": float(tie64["cmc"][0]),
        "quantised_mAP_float32": tie32["mAP"], "quantised_mAP_float64": tie64["mAP"]}

    # 2. re-ranking: 3,803 + 301 features, then multi-shot size
    ng1 = 301
    g1 = np.arange(ng1) % NUM_IDS
    f1 = features(rng, np.concatenate([q_pids, g1]), np.r_[np.ones(NUM_QUERY), np.zeros(ng1)])
    qf, gf = f1[:NUM_QUERY], f1[NUM_QUERY:]
    dist_t, (qg, qq, gg) = timed(lambda: (euclidean_distance(qf, gf), euclidean_distance(qf, qf),
                                          euclidean_distance(gf, gf)), args.repeats)
    rr_t, rr = timed(lambda: k_reciprocal_rerank(qg, qq, gg), args.repeats)
    arrays = (qg.numpy(), qq.numpy(), gg.numpy())
    crr_t, crr = timed(lambda: classic_rerank(*arrays), args.classic_repeats)
    report["rerank_3803+301"] = {"distances_s": dist_t, "ours_s": rr_t, "classic_s": crr_t,
                                 "speedup": crr_t / rr_t, "ours_with_distances_s": dist_t + rr_t,
                                 "max_abs_diff": float(np.abs(rr - crr).max())}
    qm, gm, mm = torch.from_numpy(dist), euclidean_distance(f[:NUM_QUERY], f[:NUM_QUERY]), \
        euclidean_distance(f[NUM_QUERY:], f[NUM_QUERY:])
    rrm_t, _ = timed(lambda: k_reciprocal_rerank(qm, gm, mm), max(1, args.repeats // 2))
    report["rerank_3803+3010"] = {"ours_s": rrm_t}

    # 3. the driver: 4 settings x 10 trials from precomputed features
    records, source = test_structure(rng)
    mod = np.array([r.camid in (3, 6) for r in records], dtype=np.float32)
    feats = features(rng, np.array([r.pid for r in records]), mod)
    rand_perm = REPO.parent / "shared" / "sysu_official" / "rand_perm_cam.mat"
    rp = rand_perm if rand_perm.exists() and "exact" in source else None
    t = time.perf_counter()
    plain = evaluate_sysu_features(records, feats, rerank=(False,), rand_perm=rp, device="cpu")
    plain_t = time.perf_counter() - t
    t = time.perf_counter()
    both = evaluate_sysu_features(records, feats, rerank=(False, True), rand_perm=rp, device="cpu")
    both_t = time.perf_counter() - t
    report["driver_4_settings_x_10_trials"] = {
        "structure": source, "official_draws": rp is not None, "runs_without_rerank": len(plain),
        "without_rerank_s": plain_t, "runs_with_and_without_rerank": len(both), "with_and_without_rerank_s": both_t,
        "summary": summarize(both)[["mode", "shots", "rerank", "R1_mean", "mAP_mean"]].round(2).to_dict("records")}
    report["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    e, r, rm, d = (report["evaluate_sysu_3803x3010"], report["rerank_3803+301"], report["rerank_3803+3010"],
                   report["driver_4_settings_x_10_trials"])
    e64 = report["float64_3803x3010"]
    print(f"machine: {report['machine']['cpus']} CPUs, torch threads {report['machine']['torch_threads']}, "
          f"numpy {np.__version__}, torch {torch.__version__}")
    print(f"evaluate_sysu 3803x3010:  ours {e['ours_s']:.3f} s   classic {e['classic_s']:.2f} s   "
          f"speed-up {e['speedup']:.1f}x   (max metric diff {e['max_metric_diff']:.1e})")
    print(f"float64 3803x3010:        distances {e64['distances_float64_s']:.3f} s (float32 "
          f"{e64['distances_float32_s']:.3f} s), evaluate_sysu {e64['evaluate_sysu_float64_s']:.3f} s; "
          f"quantised features R1 float32 {100 * e64['quantised_R1_float32']:.2f} vs float64 "
          f"{100 * e64['quantised_R1_float64']:.2f}, mAP {100 * e64['quantised_mAP_float32']:.3f} vs "
          f"{100 * e64['quantised_mAP_float64']:.3f}")
    print(f"re-ranking 3803+301:      ours {r['ours_s']:.3f} s   classic {r['classic_s']:.2f} s   "
          f"speed-up {r['speedup']:.1f}x   (max abs diff {r['max_abs_diff']:.1e}); "
          f"distances {r['distances_s']:.3f} s, total {r['ours_with_distances_s']:.3f} s")
    print(f"re-ranking 3803+3010:     ours {rm['ours_s']:.3f} s")
    print(f"driver, {d['structure']}, official draws: {d['official_draws']}")
    print(f"  {d['runs_without_rerank']} runs without re-ranking: {d['without_rerank_s']:.1f} s")
    print(f"  {d['runs_with_and_without_rerank']} runs with and without re-ranking: "
          f"{d['with_and_without_rerank_s']:.1f} s")
    print(f"max RSS {report['max_rss_mb']:.0f} MB")
    out = Path(args.out)
    out = out if out.is_absolute() else Path.cwd() / out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
