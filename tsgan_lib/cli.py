"""The command line: ``python -m tsgan_lib <command>`` (also installed as ``tsgan``).

    tsgan train -f params/demo.yaml [--set ts.alpha_c=0.01 ...] [--trials 1-10] [--list]
    tsgan evaluate runs/demo [--rerank] [--trials 10]
    tsgan ablation [--seeds 0 1 2 3 4] [--sensor nir|thermal] [--set ...]
    tsgan search runs/demo --query me.jpg --gallery photos/ [--top-k 10] [--out ranked.png]
    tsgan verify /data/SYSU-MM01

It shares everything with the notebooks: the presets and :func:`~tsgan_lib.train.config.resolve_config`,
the trainer, the evaluation and the reports. Multi-GPU:
``torchrun --nproc_per_node 4 -m tsgan_lib train -f params/sysu_jd_all_ts.yaml``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tsgan_lib.utils import resolve_path


def _trials(text: str) -> list[int]:
    """``"1-10"`` -> [1, ..., 10]; ``"1,3,5"`` -> [1, 3, 5]."""
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        try:
            out += list(range(int(a), int(b) + 1)) if b else [int(a)]
        except ValueError:
            raise argparse.ArgumentTypeError(f"--trials {text!r}: expected e.g. 1-10 or 1,3,5") from None
    return out


def _print_table(results: dict) -> None:
    from tsgan_lib.report.vocab import METRIC_NAMES, setting_label

    print(f"{results['dataset']}, variant {results['variant']} (percent; mean ± std over {results['trials']} "
          "gallery draws)")
    for key, m in results["metrics"].items():
        std = results.get("metrics_std", {}).get(key, {})
        cells = "  ".join(f"{n} {m[n]:5.1f}" + (f" ± {std[n]:.1f}" if std.get(n) else "") for n in METRIC_NAMES)
        print(f"  {setting_label(key):<50} {cells}")
    if "untrained" in results:
        for key, m in results["untrained"].items():
            print(f"  {'untrained backbone, ' + setting_label(key):<50} R1 {m['R1']:5.1f}  mAP {m['mAP']:5.1f}")
    for key, m in results["chance"].items():
        print(f"  {'chance (random ranking), ' + setting_label(key):<50} " + "  ".join(f"{n} {m[n]:5.1f}" for n in m))
    if results.get("teacher_quality"):
        q = results["teacher_quality"]
        print(f"  teacher IR->IR: R1 {q.get('ir_R1', float('nan')):.1f}, mAP {q.get('ir_mAP', float('nan')):.1f} "
              "(paper, Table III: 98.0 / 97.4)")


def cmd_train(args: argparse.Namespace) -> int:
    from tsgan_lib.train.config import describe_settings, resolve_config
    from tsgan_lib.train.trainer import TRIALS_FILE, run, run_trials

    if args.list:
        print(describe_settings(resolve_config(args.preset, args.set)))
        return 0
    if not args.trials:
        info, results = run(resolve_config(args.preset, args.set))
        if results:
            _print_table(results)
        return 0
    try:
        summary = run_trials(args.preset, args.set, args.trials, log=lambda m: print(m, flush=True))
    except ValueError as e:
        raise SystemExit(f"--{e}") from None
    if summary:
        where = resolve_config(args.preset, args.set).run_dir / TRIALS_FILE
        print(f"RegDB, mean ± std over trials {summary['trials']} ({where}):")
        for key, m in summary["metrics"].items():
            s = summary["metrics_std"][key]
            print(f"  {key:<28} " + "  ".join(f"{n} {m[n]:.1f} ± {s[n]:.1f}" for n in m))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from tsgan_lib.report.results import evaluate_run

    overrides = {k: v for k, v in (("rerank", args.rerank), ("trials", args.trials)) if v is not None}
    results, _ = evaluate_run(args.run_dir, device=args.device, write=not args.no_write, **overrides)
    _print_table(results)
    return 0


def cmd_ablation(args: argparse.Namespace) -> int:
    import os

    from tsgan_lib.report.ablation import run_ablation

    overrides = dict(s.split("=", 1) for s in args.set)
    if args.sensor:
        overrides["data.synthetic.ir_sensor"] = args.sensor
    name = args.name or ("synthetic" if args.sensor in (None, "nir") else f"synthetic_{args.sensor}")
    command = "make ablation" if os.environ.get("MAKELEVEL") else "python -m tsgan_lib ablation " + " ".join(sys.argv[2:])
    run_ablation(args.seeds, args.rows, runs_dir=resolve_path(args.runs_dir or f"runs/ablation_{name}"),
                 out=resolve_path(args.out), name=name, overrides=overrides, command=command)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from tsgan_lib.files import load_backbone
    from tsgan_lib.report.search import gallery_images, plot_search, search
    from tsgan_lib.train.config import load_config
    from tsgan_lib.utils import resolve_device

    run_dir = Path(args.run_dir)
    cfg = load_config(run_dir / "config.json")
    device = resolve_device(args.device)
    model, _ = load_backbone(run_dir, device)
    results = search(model, args.query, gallery_images(args.gallery), height=cfg.data.height, width=cfg.data.width,
                     top_k=args.top_k, device=device)
    for r in results:
        print(f"{r['query']}:")
        for rank, (path, d) in enumerate(r["matches"], 1):
            print(f"  {rank:3d}. {d:8.3f}  {path}")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        fig = plot_search(results)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=110, bbox_inches="tight")
        print(f"ranked lists saved to {args.out}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from tsgan_lib.data import verify

    return verify.run(args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="tsgan", description="TS-GAN (RGB-IR person ReID): train, evaluate, ablate, "
                                 "search your own images, verify a dataset.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train (and test) one run from a preset",
                       description="Train one run (Algorithm 1), then test it; resumes when run again on its folder.")
    p.add_argument("-f", "--preset", default="demo", help="a preset in params/ (name or path); default: demo")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                   help="override settings by dotted name, e.g. --set ts.alpha_c=0.01 schedule.epochs=8")
    p.add_argument("--trials", type=_trials, help="RegDB: train and test these trials (e.g. 1-10), one run each, "
                   "then the mean ± std over them")
    p.add_argument("--list", action="store_true", help="print every setting with its value and meaning, and exit")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test a trained run folder (writes results.json)")
    p.add_argument("run_dir")
    p.add_argument("--rerank", action=argparse.BooleanOptionalAction, default=None,
                   help="also with k-reciprocal re-ranking (default: the run's eval.rerank)")
    p.add_argument("--trials", type=int, help="gallery draws (default: the run's eval.trials)")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-write", action="store_true", help="do not write results.json")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("ablation", help="Table II on the synthetic stand-in: four rows x seeds, with CIs")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    from tsgan_lib.train.steps import TABLE2_VARIANTS

    p.add_argument("--rows", nargs="+", default=list(TABLE2_VARIANTS), choices=TABLE2_VARIANTS)
    p.add_argument("--sensor", choices=("nir", "thermal"), help="the stand-in's IR cameras (default: the presets')")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="settings for every run")
    p.add_argument("--runs-dir", help="where the runs go (default runs/ablation_<name>)")
    p.add_argument("--out", default="docs/results", help="where the table, figure and JSON go")
    p.add_argument("--name", help="output name: ablation_<name>.{md,png,json} (default from --sensor)")
    p.set_defaults(func=cmd_ablation)

    p = sub.add_parser("search", help="rank a folder of your own images for each query image")
    p.add_argument("run_dir", help="a trained run folder (its backbone.pt and config.json)")
    p.add_argument("--query", nargs="+", required=True, help="query image(s)")
    p.add_argument("--gallery", required=True, help="a folder of images (searched recursively)")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--out", help="save the ranked lists as a figure (PNG)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_search)

    from tsgan_lib.data.verify import add_arguments

    p = sub.add_parser("verify", help="check a dataset copy: structure, and every image decoded once")
    add_arguments(p)
    p.set_defaults(func=cmd_verify)
    return ap


def main(argv: list[str] | None = None) -> int:
    from tsgan_lib.train.config import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C / SIGTERM: the fit loop has checkpointed and said how to resume
        print("stopped (interrupted); run the same command again to resume", file=sys.stderr)
        return 130
