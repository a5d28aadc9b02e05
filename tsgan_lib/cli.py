"""The command line: ``python -m tsgan_lib <command>`` (also installed as ``tsgan``).

    tsgan train -f params/demo.yaml [--set ts.alpha_c=0.01 ...] [--trials 1-10] [--list]
    tsgan evaluate runs/demo [--rerank] [--draws 10] [--choices]
    tsgan ablation [--seeds 0 1 2 3 4] [--sensor nir|thermal] [--set ...] [--readings [READING ...]]
    tsgan search runs/demo --query me.jpg --gallery photos/ [--top-k 10] [--out ranked.png]
    tsgan verify /data/SYSU-MM01
    tsgan --debug <command> ...   (a user error also shows its traceback; so does TSGAN_DEBUG=1)

It shares everything with the notebooks: the presets and :func:`~tsgan_lib.train.config.resolve_config`,
the trainer, the evaluation and the reports. Multi-GPU:
``torchrun --nproc_per_node 4 -m tsgan_lib train -f params/sysu_jd_all_ts.yaml``.

**What the command line does with what you type.** Options that take a list
(``--set``, ``--trials``, ``--seeds``, ``--rows``, ``--query``) accumulate
when repeated; the same setting given twice in ``--set``, and any other
option given twice, are refused. Relative paths you type (run folders,
``--query``, ``--gallery``, ``--out``, ``--runs-dir``, and the path settings
``run.dir``, ``data.root``, ``teacher.path``, ``eval.rand_perm`` in ``--set``)
are relative to the current folder; a preset path (``-f my/preset.yaml``) is
looked up in the current folder, then in ``params/`` and the repository; a
bare name (``-f demo``) means ``params/demo.yaml``. Paths inside presets, and
default run folders (``runs/<preset>``), are relative to the repository.

**Exit codes.** 0 done. 1 ``verify`` found damaged files, or an unexpected
error (a bug: its traceback is shown). Every error a user can cause is one
line ``tsgan <command>: error: ...`` naming the setting or file, what was
found and what was expected (:mod:`tsgan_lib.errors`), with a code per kind:
2 a setting or a flag; 3 a file or folder missing or unreadable; 4 a dataset
missing or damaged; 5 the run folder is busy or holds another run; 6 a file
could not be written (full disk, read-only folder); 7 training diverged
(non-finite losses). 130: stopped by Ctrl-C or SIGTERM, at a step (after a
checkpoint) or between phases; the same command resumes.

Only the named command's arguments are built, and only standard-library
modules are imported until a command runs, so ``tsgan --help`` and the help of
``train``, ``evaluate`` and ``search`` answer at once (``ablation`` and
``verify`` take their arguments from library modules that import torch).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from tsgan_lib.errors import INTERRUPTED, TsganUserError, debugging
from tsgan_lib.paths import REPO_ROOT, user_path

COMMANDS = {
    "train": "train (and test) one run from a preset",
    "evaluate": "test a trained run folder (writes results.json)",
    "ablation": "Table II on the synthetic stand-in: four rows x seeds, with CIs",
    "search": "rank a folder of your own images for each query image",
    "verify": "check a dataset copy: structure, and every image decoded once",
}


# ---- what the user typed ---------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (the usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Once(argparse.Action):
    """A single-valued option: given twice, it is refused rather than the first silently dropped."""

    def __call__(self, parser, namespace, values, option_string=None):
        given = namespace.__dict__.setdefault("_given", {})
        if self.dest in given:
            both = (f"{option_string} given twice" if given[self.dest] == option_string
                    else f"{given[self.dest]} and {option_string} both given")
            parser.error(f"{both} ({getattr(namespace, self.dest)!r}, then {values!r}): give it once")
        given[self.dest] = option_string
        setattr(namespace, self.dest, values)


class _Renamed(_Once):
    """An old name of an option: still works, with a one-line notice."""

    def __init__(self, *args, new: str, why: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.new, self.why = new, why

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"note: {parser.prog} {option_string} is now {self.new}{self.why}; the old name will go", file=sys.stderr)
        super().__call__(parser, namespace, values, option_string)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive integer")
    return value


def _trials(text: str) -> list[int]:
    """``"1-10"`` -> [1, ..., 10]; ``"1,3,5"`` -> [1, 3, 5]; a range written backwards is refused."""
    out: list[int] = []
    for part in text.split(","):
        a, dash, b = part.strip().partition("-")
        try:
            lo = int(a)
            hi = int(b) if dash else lo
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected trial numbers, e.g. 1-10 or 1,3,5") from None
        if hi < lo:
            raise argparse.ArgumentTypeError(f"{text!r}: the range {part.strip()} runs backwards (it would hold no "
                                             f"trial); write {hi}-{lo}")
        out += range(lo, hi + 1)
    return out


def _user_preset(text: str) -> str:
    """A preset as typed: a bare name is one of params/; a path is looked up in the current folder first."""
    if "/" not in text and os.sep not in text and not text.endswith((".yaml", ".yml")):
        return text
    here = user_path(text)
    if here.is_file():
        return str(here)
    from tsgan_lib.train.config import preset_path

    there = preset_path(text)
    return str(there if there.is_file() else here)


def _overrides(items: list[str]) -> dict[str, str]:
    """``--set`` items as settings, the path settings made absolute from the current folder."""
    from tsgan_lib.train.config import PATH_SETTINGS, parse_overrides

    values = parse_overrides(items)
    for name in PATH_SETTINGS:
        if name in values and values[name].strip().lower() not in ("", "none", "null", "~"):
            values[name] = str(user_path(values[name]))
    return values


# ---- the commands --------------------------------------------------------------------------------
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
              "(paper, Table III: 98.0 / 97.4)", flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    from tsgan_lib.files import RunFolder
    from tsgan_lib.report.runs import run, run_trials
    from tsgan_lib.train.config import describe_settings, resolve_config

    overrides = _overrides(args.set)
    if args.list:
        print(describe_settings(resolve_config(args.preset, overrides)))
        return 0
    if args.trials is None:
        info, results = run(resolve_config(args.preset, overrides))
        if results:
            _print_table(results)
        return 0
    summary = run_trials(args.preset, overrides, args.trials, log=lambda m: print(m, flush=True))
    if summary:
        where = RunFolder(resolve_config(args.preset, overrides).run_dir).trials_results
        print(f"RegDB, mean ± std over trials {summary['trials']} ({where}):")
        for key, m in summary["metrics"].items():
            s = summary["metrics_std"][key]
            print(f"  {key:<28} " + "  ".join(f"{n} {m[n]:.1f} ± {s[n]:.1f}" for n in m))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from tsgan_lib.files import FileWriteError
    from tsgan_lib.report.results import evaluate_run, save_results

    run_dir = user_path(args.run_dir)
    if args.choices:
        from tsgan_lib.report.choices import format_choices, protocol_choices

        print(format_choices(protocol_choices(run_dir, trials=args.draws, device=args.device)))
        return 0
    overrides = {k: v for k, v in (("rerank", args.rerank), ("trials", args.draws)) if v is not None}
    results, _ = evaluate_run(run_dir, device=args.device, write=False, **overrides)
    _print_table(results)  # first: a folder that cannot be written to still gets its table
    if not args.no_write:
        try:
            save_results(run_dir, results)
        except FileWriteError as err:
            raise FileWriteError(err.errno, f"{err.user_message} (the table is above; --no-write skips "
                                            "results.json)") from err
    return 0


def cmd_ablation(args: argparse.Namespace) -> int:
    from tsgan_lib.errors import UsageError
    from tsgan_lib.paths import resolve_path
    from tsgan_lib.report.ablation import run_ablation
    from tsgan_lib.train.steps import TABLE2_VARIANTS

    overrides = _overrides(args.set)
    sensor = "data.synthetic.ir_sensor"
    if args.sensor:
        if overrides.get(sensor, args.sensor) != args.sensor:
            raise UsageError(f"--sensor {args.sensor} and --set {sensor}={overrides[sensor]} contradict each other: "
                             "give one")
        overrides[sensor] = args.sensor
    name = args.name or ("synthetic" if args.sensor in (None, "nir") else f"synthetic_{args.sensor}")
    target = "make compare" if args.compare else "make readings" if args.readings is not None else "make ablation"
    command = target if os.environ.get("MAKELEVEL") else "python -m tsgan_lib ablation " + " ".join(sys.argv[2:])
    runs_dir = user_path(args.runs_dir) if args.runs_dir else resolve_path(f"runs/ablation_{name}")
    out = user_path(args.out) if args.out else REPO_ROOT / "docs" / "results"
    if args.compare:
        from tsgan_lib.report.comparison import COMPARISON_ROWS, run_comparison

        if args.readings is not None or args.sensor:
            raise UsageError("--compare takes neither --readings nor --sensor: it compares the rows on one stand-in")
        if not args.runs_dir and args.compare != "sysu":
            runs_dir = resolve_path(f"runs/compare_{args.compare}")
        run_comparison(args.compare, args.seeds or [0, 1, 2], args.rows or COMPARISON_ROWS, runs_dir=runs_dir,
                       out=out, overrides=overrides, command=command.replace(" --finished-only", ""),
                       train=not args.finished_only)  # the table names the command that trains its runs
        return 0
    if args.readings is not None:
        from tsgan_lib.report.readings import READINGS, run_readings

        unknown = sorted(set(args.readings) - set(READINGS))
        if unknown:
            raise UsageError(f"--readings {' '.join(unknown)}: expected readings among {', '.join(READINGS)}")
        run_readings(args.seeds or [0, 1, 2, 3, 4], args.readings or tuple(READINGS), runs_dir=runs_dir, out=out,
                     name=name, overrides=overrides, command=command, train=not args.finished_only)
        return 0
    baselines = [r for r in args.rows or () if r not in TABLE2_VARIANTS]
    if baselines:
        raise UsageError(f"--rows {' '.join(baselines)}: not rows of Table II; the field's baselines are compared "
                         "with --compare sysu|regdb|llcm")
    run_ablation(args.seeds or [0, 1, 2, 3, 4], args.rows or TABLE2_VARIANTS, runs_dir=runs_dir, out=out, name=name,
                 overrides=overrides, command=command)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from tsgan_lib.files import RunFolder, load_backbone
    from tsgan_lib.report.search import gallery_images, plot_search, search
    from tsgan_lib.train.config import load_config
    from tsgan_lib.utils import resolve_device

    run_dir = user_path(args.run_dir)
    device = resolve_device(args.device)
    model, _ = load_backbone(run_dir, device)
    cfg = load_config(RunFolder(run_dir).config)
    results = search(model, args.query, gallery_images(args.gallery), height=cfg.data.height, width=cfg.data.width,
                     top_k=args.top_k, device=device)
    for r in results:
        print(f"{r['query']}:")
        for rank, (path, d) in enumerate(r["matches"], 1):
            print(f"  {rank:3d}. {d:8.3f}  {path}")
    if args.out:
        import io

        import matplotlib

        from tsgan_lib.files import write_bytes_atomic

        matplotlib.use("Agg")
        png = io.BytesIO()
        plot_search(results).savefig(png, format="png", dpi=110, bbox_inches="tight")
        write_bytes_atomic(user_path(args.out), png.getvalue())
        print(f"ranked lists saved to {args.out}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """One line per problem (path first), then a summary; 1 if there is an error (``--strict``: any problem)."""
    from tsgan_lib.data.verify import verify_dataset
    from tsgan_lib.errors import UsageError

    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers must be >= 0, got {args.workers}")
    report = verify_dataset(args.root, kind=args.kind, workers=args.workers, progress=not args.no_progress)
    for problem in report:
        print(problem)
    print(report.summary())
    return 1 if report.errors or (args.strict and report) else 0


# ---- the parser ----------------------------------------------------------------------------------
def _train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--preset", default="demo", type=_user_preset, action=_Once,
                   help="a preset: a name in params/ (demo) or a YAML file (my/preset.yaml); default: demo")
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                   help="override settings by dotted name, e.g. --set ts.alpha_c=0.01 schedule.epochs=8 "
                        "(repeatable; a setting given twice is refused)")
    p.add_argument("--trials", type=_trials, action="extend",
                   help="RegDB: train and test these trials (e.g. 1-10 or 1,3,5), one run each, then the mean ± std "
                        "over them")
    p.add_argument("--list", action="store_true",
                   help="print every setting with its value, meaning and valid range, and exit")


def _evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a trained run folder (relative to the current folder)")
    p.add_argument("--rerank", action=argparse.BooleanOptionalAction, default=None,
                   help="also with k-reciprocal re-ranking (default: the run's eval.rerank)")
    p.add_argument("--draws", type=_positive_int, action=_Once,
                   help="SYSU-MM01 gallery draws to average over (default: the run's eval.trials)")
    p.add_argument("--trials", dest="draws", type=_positive_int, action=_Renamed, new="--draws",
                   why=" (gallery draws; `train --trials` means RegDB trials)", help=argparse.SUPPRESS)
    p.add_argument("--device", default="auto", action=_Once)
    p.add_argument("--no-write", action="store_true", help="do not write results.json")
    p.add_argument("--choices", action="store_true",
                   help="instead: the run under every protocol choice that moves published numbers (gallery draw, "
                        "test feature, L2-normalisation, flip averaging, re-ranking), one table; writes nothing")


def _ablation_arguments(p: argparse.ArgumentParser) -> None:
    from tsgan_lib.train.steps import ROWS

    p.add_argument("--seeds", type=int, nargs="+", action="extend",
                   help="training seeds (default: 0 1 2 3 4; with --compare 0 1 2)")
    p.add_argument("--rows", nargs="+", action="extend", choices=ROWS,
                   help="rows (default: Table II's; with --compare the backbone, AGW, CAJ and the TS-GAN rows)")
    p.add_argument("--sensor", choices=("nir", "thermal"), action=_Once,
                   help="the stand-in's IR cameras (default: the presets')")
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="NAME=VALUE", help="settings for every run")
    p.add_argument("--runs-dir", action=_Once, help="where the runs go (default: runs/ablation_<name> in the repository)")
    p.add_argument("--out", action=_Once, help="where the table, figure and JSON go (default: docs/results)")
    p.add_argument("--name", action=_Once, help="output name: ablation_<name>.{md,png,json} (default from --sensor)")
    p.add_argument("--readings", nargs="*", action="extend", metavar="READING",
                   help="instead of Table II: the readings table, the full model (and the backbone) with each reading "
                        "of the paper flipped from the default (all when none is named), in the same run folder; "
                        "writes readings_<name>.{md,json}")
    p.add_argument("--compare", choices=("sysu", "regdb", "llcm"), action=_Once,
                   help="instead of Table II: TS-GAN beside the field's baselines (AGW, CAJ) on that stand-in, "
                        "paired against the backbone; writes comparison_<dataset>.{md,json} (runs: "
                        "runs/compare_<dataset>; for sysu the Table II runs' folder, whose rows it reuses)")
    p.add_argument("--finished-only", action="store_true",
                   help="with --readings or --compare: tabulate the finished runs only, train nothing (rows may "
                        "have fewer seeds)")


def _search_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a trained run folder (its backbone.pt and config.json)")
    p.add_argument("--query", nargs="+", action="extend", required=True, help="query image(s)")
    p.add_argument("--gallery", required=True, action=_Once, help="a folder of images (searched recursively)")
    p.add_argument("--top-k", type=_positive_int, default=10, action=_Once, help="matches shown per query")
    p.add_argument("--out", action=_Once, help="save the ranked lists as a figure (PNG)")
    p.add_argument("--device", default="auto", action=_Once)


def _verify_arguments(p: argparse.ArgumentParser) -> None:
    from tsgan_lib.data.verify import KINDS

    p.add_argument("root", help="dataset folder: SYSU-MM01 (cam1..cam6/, exp/), RegDB (Visible/, Thermal/, idx/) or "
                                "LLCM (idx/, vis/, nir/, test_vis/, test_nir/)")
    p.add_argument("--kind", choices=KINDS, default="auto", action=_Once, help="dataset layout (default: auto-detect)")
    p.add_argument("--workers", type=int, default=None, action=_Once,
                   help="decoding processes (default: one per CPU core, at most 8; 0: none)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too, not only on errors")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


ARGUMENTS = {"train": _train_arguments, "evaluate": _evaluate_arguments, "ablation": _ablation_arguments,
             "search": _search_arguments, "verify": _verify_arguments}
EXIT_CODES = """exit codes:
  0    done
  1    verify found damaged files, or a bug (its traceback is shown)
  2    a setting or a flag is wrong
  3    a file or folder is missing or unreadable
  4    a dataset is missing or damaged
  5    the run folder is busy, or holds a run made with other settings
  6    a file could not be written (full disk, read-only folder)
  7    training diverged (non-finite losses)
  130  stopped by Ctrl-C or SIGTERM: the same command resumes"""
DESCRIPTIONS = {"train": "Train one run (Algorithm 1), then test it; resumes when run again on its folder."}


def build_parser(commands: tuple[str, ...] | None = None) -> argparse.ArgumentParser:
    """The parser; ``commands``: the commands whose arguments are added (default: all). The others are
    listed with their help line only, so that ``--help`` needs no heavy import."""
    ap = _Parser(prog="tsgan", description="TS-GAN (RGB-IR person ReID): train, evaluate, ablate, search your own "
                                           "images, verify a dataset.", epilog=EXIT_CODES,
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error, not only its message")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_line in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=DESCRIPTIONS.get(name, help_line[0].upper()
                                                                               + help_line[1:] + "."))
        if commands is None or name in commands:
            ARGUMENTS[name](p)
        p.set_defaults(func=globals()[f"cmd_{name}"])
    return ap


def _command_in(argv: list[str]) -> tuple[str, ...]:
    """The command named on the command line (its first word that is one), to build only its arguments."""
    return tuple(a for a in argv if a in COMMANDS)[:1]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command_in(argv)).parse_args(argv)
    prog = f"tsgan {args.command}"
    try:
        return args.func(args)
    except TsganUserError as err:
        if args.debug or debugging():
            traceback.print_exc()
        print(f"{prog}: error: {err.user_message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as err:  # Ctrl-C / SIGTERM: a checkpoint or a finished phase is kept
        if args.debug or debugging():
            traceback.print_exc()
        print(f"{prog}: {str(err) or 'stopped (interrupted); run the same command again to resume'}", file=sys.stderr)
        return INTERRUPTED
