"""The data of a training run: which dataset, which stand-in, and how batches are drawn.

Scope: :class:`DataConfig` (one component of the run's configuration,
:class:`tsgan_lib.train.config.TrainConfig`), :func:`load_data` (the dataset
it names) and :func:`data_tag` (what identifies the data a network saw, for the
"does this teacher fit?" check of :mod:`tsgan_lib.files`).

A run trains on SYSU-MM01, RegDB or LLCM, given by a folder (``root``), or,
when ``root`` is ``None``, on the synthetic stand-in of that layout, generated
once into a cache folder (:mod:`tsgan_lib.data.synthetic`,
:mod:`~tsgan_lib.data.synthetic_regdb`, :mod:`~tsgan_lib.data.synthetic_llcm`). The dataset folder
is the user's, not a table row's: the presets in ``params/`` never set it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Literal

from tsgan_lib.ranges import AtLeast, Between, FilePath, NonNegative, Probability, Range

from .batches import EpochBatches
from .llcm import load_llcm
from .records import DatasetError
from .regdb import TRIALS, load_regdb
from .synthetic import SyntheticConfig, synthetic_sysu_root
from .synthetic_llcm import SyntheticLLCMConfig, synthetic_llcm_root
from .synthetic_regdb import SyntheticRegDBConfig, synthetic_regdb_root
from .sysu import load_sysu
from .transforms import default_pad

DATASETS = ("sysu", "regdb", "llcm")
_SIZE = ("the backbone's layer-3 map is 1/16 of the image and the joint D_I aligns the two; "
         "the PatchGAN needs 32 px")


@dataclass
class DataConfig:
    """Which data, at which size, in which batches (paper Section IV.A-B).

    ``pipeline``: ``"loader"`` decodes and augments with PIL in a DataLoader;
    ``"tensor"`` decodes and resizes the training set once into a uint8 cache
    and augments whole batches on the device (:mod:`tsgan_lib.data.tensor_pipeline`,
    the same augmentation distribution); ``"auto"`` takes the tensor path on CUDA.
    """

    dataset: Literal["sysu", "regdb", "llcm"] = "sysu"  # the layout: SYSU-MM01 (the paper's benchmark), RegDB or LLCM
    root: Annotated[str | None, FilePath] = None  # the dataset folder; None = the synthetic stand-in of that layout
    trial: Annotated[int, Between(TRIALS[0], TRIALS[-1])] = 1  # RegDB: which of the 10 identity splits this run trains and tests on
    hold_out_val: bool = False      # SYSU-MM01: train on train_id.txt only and keep val_id.txt (docs/interpretations.md, 11)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)  # the SYSU-MM01 stand-in's generator
    synthetic_regdb: SyntheticRegDBConfig = field(default_factory=SyntheticRegDBConfig)  # the RegDB stand-in's
    synthetic_llcm: SyntheticLLCMConfig = field(default_factory=SyntheticLLCMConfig)  # the LLCM stand-in's
    height: Annotated[int, Range(32, multiple_of=16, why=_SIZE)] = 288  # network input size (docs/interpretations.md, 6; the peers' SYSU-MM01 size)
    width: Annotated[int, Range(32, multiple_of=16, why=_SIZE)] = 144
    P: Annotated[int, AtLeast(2, why="the triplet loss needs negatives")] = 8  # identities per batch (paper IV.B: 8)
    K: Annotated[int, AtLeast(1)] = 4  # (RGB, IR) pairs per identity (paper IV.B: 4)
    pad: Annotated[int | None, NonNegative] = None  # random-crop padding in px; None = 10 px at 144 wide, scaled to the width
    grey: Annotated[float, Probability] = 0.0  # P(an RGB training image is turned grey): channel augmentation, not the paper's
    erasing: Annotated[float, Probability] = 0.0  # P(random erasing) (the strong baseline [34]: 0.5; the paper is silent)
    workers: Annotated[int, NonNegative] = 0  # DataLoader worker processes (the PIL path)
    pipeline: Literal["auto", "loader", "tensor"] = "auto"  # loader: PIL; tensor: uint8 cache, GPU augmentation
    resident: bool = False          # tensor pipeline: keep the whole uint8 cache on the GPU (SYSU-MM01: 4.3 GB)
    verify: bool = False            # decode every image before training (a corrupt file stops the run at once)

    @property
    def crop_pad(self) -> int:
        """The random-crop padding this run uses (``pad``, or the paper's scaled to ``width``)."""
        return default_pad(self.width) if self.pad is None else int(self.pad)

    @property
    def resolved_root(self):
        """The dataset folder (the stand-in's cache folder when ``root`` is ``None``; generated if needed)."""
        from tsgan_lib.utils import resolve_path

        if self.root is not None:
            return resolve_path(self.root)
        if self.dataset == "regdb":
            return synthetic_regdb_root(**asdict(self.synthetic_regdb))
        if self.dataset == "llcm":
            return synthetic_llcm_root(**asdict(self.synthetic_llcm))
        return synthetic_sysu_root(**asdict(self.synthetic))

    @property
    def synthetic_config(self):
        """The generator configuration of this layout's stand-in."""
        return {"sysu": self.synthetic, "regdb": self.synthetic_regdb, "llcm": self.synthetic_llcm}[self.dataset]


def data_tag(cfg: DataConfig) -> dict:
    """What identifies the training data: a teacher trained on other data (or
    another RegDB trial) may have seen this run's test identities."""
    tag = {"dataset": cfg.dataset}
    if cfg.root is None:
        tag["root"] = "synthetic"
        tag["synthetic_key"] = cfg.synthetic_config.key()
    else:
        from tsgan_lib.utils import resolve_path

        tag["root"] = str(resolve_path(cfg.root))
    if cfg.dataset == "regdb":
        tag["trial"] = cfg.trial
    elif cfg.hold_out_val:
        tag["hold_out_val"] = True
    return tag


def load_data(cfg: DataConfig, *, check: bool = False, progress: bool = False):
    """The dataset ``cfg`` names (:class:`~tsgan_lib.data.sysu.SYSUMM01`,
    :class:`~tsgan_lib.data.regdb.RegDB` or :class:`~tsgan_lib.data.llcm.LLCM`),
    read with the readers' structural checks.

    ``check`` (what a training run does first): also the cheap check of every
    image file (:func:`~tsgan_lib.data.verify.check_structure`), and with
    ``cfg.verify`` every image decoded once (:func:`~tsgan_lib.data.verify.verify_dataset`):
    a damaged copy stops the run before it costs an hour, naming the files."""
    if cfg.dataset == "regdb" and cfg.trial not in TRIALS:
        raise ValueError(f"data.trial={cfg.trial}: RegDB has trials 1..10")
    root = cfg.resolved_root
    if check:
        from .verify import check_structure, verify_dataset

        check_structure(root, cfg.dataset)
        if cfg.verify:
            errors = [p for p in verify_dataset(root, kind=cfg.dataset, progress=progress) if p.severity == "error"]
            if errors:
                raise DatasetError(f"{len(errors)} damaged file(s) (data.verify=true): "
                                   + "; ".join(str(p) for p in errors[:5]) + ("; ..." if len(errors) > 5 else "")
                                   + f". Run `python -m tsgan_lib verify {root}` for the full list", root)
    if cfg.dataset == "regdb":
        return load_regdb(root, trial=cfg.trial)
    if cfg.dataset == "llcm":
        return load_llcm(root)
    return load_sysu(root, hold_out_val=cfg.hold_out_val)


def train_batches(cfg: DataConfig, dataset, *, seed: int, device, dist=None):
    """The run's training batches ``(x_rgb, x_ir, labels)``: P identities x K
    (RGB, IR) pairs per step and process (with several processes, each takes
    its own P identities of one global draw; see :mod:`tsgan_lib.train.distributed`).
    ``len()`` is the steps per epoch; ``set_epoch(epoch, start_step)`` positions it
    (:class:`~tsgan_lib.data.batches.EpochBatches`, or the tensor pipeline's loader)."""
    from . import build_train_loader

    rank, world = (dist.rank, dist.world_size) if dist is not None else (0, 1)
    if cfg.pipeline == "tensor" or (cfg.pipeline == "auto" and device.type == "cuda"):
        from .tensor_pipeline import build_tensor_train_loader

        return build_tensor_train_loader(dataset.train, P=cfg.P, K=cfg.K, height=cfg.height, width=cfg.width,
                                         pad=cfg.crop_pad, seed=seed, device=device, resident=cfg.resident,
                                         rank=rank, world_size=world, grey=cfg.grey, erasing=cfg.erasing)
    return EpochBatches(build_train_loader(dataset.train, P=cfg.P, K=cfg.K, height=cfg.height, width=cfg.width,
                                           pad=cfg.crop_pad, workers=cfg.workers, seed=seed,
                                           pin_memory=device.type == "cuda", rank=rank, world_size=world,
                                           grey=cfg.grey, erasing=cfg.erasing))
