"""Notebooks 02 (the CycleGAN) and 03 (the teacher-student losses) told: their tables, figures and sentences,
generated from the numbers.

Both notebooks:

- :func:`departures` -- where a config departs from a reference preset (notebook 01's ``notebooks``), and
  whether this notebook's preset or its ``overrides`` set it; :func:`departures_table` (02) and
  :func:`departures_text` (03) show them.

Notebook 02:

- :func:`teacher_note` -- where the teacher came from and how well it retrieved IR when it was trained;
- :func:`layer_shapes` -- the output shape after each shown layer of a ``Sequential`` (G_I's layers);
- :func:`param_count` -- a module's parameters in millions, as text;
- :func:`networks_table` -- G_I / G_R, D_I, D_R and FE_T with their inputs, outputs and sizes;
- :func:`shared_test_ids`, :func:`first_image`, :func:`translate` -- the test persons with both modalities, the
  first test image of one, and Fig. 5's columns for the first images of several (in [0, 1]);
- :func:`translation_with_errors` -- Fig. 5 with the reconstruction's L1 error under each reconstructed RGB;
- :func:`l1_per_image`, :func:`chroma`, :func:`luma`, :func:`layout_corr` -- the measures of section 6;
- :func:`reconstruction_measures`, :func:`reconstruction_table`, :func:`reconstruction_text` -- those measures
  on a translated batch, as a table and as the sentences under it.

Notebook 03:

- :func:`load_fitting_cyclegan` -- notebook 02's CycleGAN when its record fits, else why not;
- :func:`ts_maps_figure` -- images with the teacher's and the student's feature maps (section 5);
- :func:`pair_dist`, :func:`cd_distances` -- the distances the cross-domain experiment records at each step;
- :func:`cd_text` -- the sentences under that experiment's curves.

Figures are returned (the notebook calls ``plt.show()``); nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from tsgan_lib.data import ImageDataset
from tsgan_lib.data.config import DataConfig, data_tag
from tsgan_lib.files import load_network
from tsgan_lib.models import reid_to_gan, reid_to_unit
from tsgan_lib.train.config import TrainConfig, resolve_config
from tsgan_lib.train.settings import flatten

from .maps import feature_map_figure, translation_figure

#: Layers :func:`layer_shapes` leaves out: they keep the shape of what comes in
SHAPE_KEEPING = (torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.InstanceNorm2d, torch.nn.ReflectionPad2d)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601: the grey level of an RGB pixel


# ---- both notebooks: the settings ---------------------------------------------------------------
def departures(cfg: TrainConfig, reference: str, overrides: Mapping[str, Any]) -> dict[str, tuple[Any, Any, str]]:
    """``{setting: (reference preset's value, cfg's value, who set it)}`` where ``cfg`` departs from the preset
    ``reference``; who: ``"overrides"`` or ``"preset <cfg.preset>"``."""
    given = flatten(overrides)
    return {k: (p, v, "overrides" if k in given else f"preset {cfg.preset}")
            for k, (p, v) in cfg.diff(resolve_config(reference)).items()}


def departures_table(own: Mapping[str, tuple[Any, Any, str]], reference: str = "notebooks") -> pd.DataFrame:
    """:func:`departures` as a table: this notebook's value, the reference preset's, who set it."""
    return pd.DataFrame({"this notebook": {k: str(v) for k, (_, v, _) in own.items()},
                         f"{reference} preset": {k: str(p) for k, (p, _, _) in own.items()},
                         "set by": {k: who for k, (_, _, who) in own.items()}})


def departures_text(own: Mapping[str, tuple[Any, Any, str]], reference: str = "notebooks") -> str:
    """:func:`departures` in one line: "`data.K` = 2 (notebooks: 4), ..." or "nowhere"."""
    return ", ".join(f"`{k}` = {v!r} ({reference}: {p!r}{', an override' if who == 'overrides' else ''})"
                     for k, (p, v, who) in own.items()) or "nowhere"


# ---- notebook 02: the networks ------------------------------------------------------------------
def teacher_note(source: str, record, seconds: float) -> str:
    """One sentence on :func:`~tsgan_lib.train.obtain_teacher`'s answer: where the teacher came from, its depth
    and IR->IR retrieval as recorded (``record``: its :class:`~tsgan_lib.files.NetworkRecord`), and the seconds
    this notebook spent training it (0 when the shared file fitted)."""
    return (f"Teacher: `{source}` (ResNet-{record.arch['depth']}, IR→IR R1 {record.quality['ir_R1']:.1f}%, mAP "
            f"{record.quality['ir_mAP']:.1f}% as measured when it was trained; {seconds:.0f} s of training in this "
            f"notebook).")


def layer_shapes(seq: torch.nn.Sequential, x: torch.Tensor) -> pd.DataFrame:
    """``x`` through ``seq`` layer by layer: each layer that changes the shape, with its output shape (without
    the batch). The caller chooses the gradient mode (``torch.no_grad()`` to look only)."""
    rows = []
    for layer in seq:
        x = layer(x)
        if not isinstance(layer, SHAPE_KEEPING):
            rows.append({"layer": type(layer).__name__, "output": tuple(x.shape[1:])})
    return pd.DataFrame(rows)


def param_count(module: torch.nn.Module) -> str:
    """``"1.23 M"``: the module's parameters in millions."""
    return f"{sum(p.numel() for p in module.parameters()) / 1e6:.2f} M"


def networks_table(gan, teacher, *, height: int, width: int, fmap: torch.Tensor, d_i: torch.Tensor,
                   d_r: torch.Tensor, joint: bool) -> pd.DataFrame:
    """The four networks of the green box with their input, output (``fmap``, ``d_i``, ``d_r``: a batch of
    the teacher's map, D_I's and D_R's outputs) and parameters; ``joint``: D_I reads (image, map) pairs."""
    image = f"(3, {height}, {width})"
    return pd.DataFrame({
        "network": ["G_I / G_R", "D_I" + (" (joint)" if joint else " (ordinary)"), "D_R", "FE_T / FE_S"],
        "input": [f"{image} in [-1, 1]", f"{image} + f_map {tuple(fmap.shape[1:])}" if joint else image,
                  image, f"{image} ImageNet-normalised"],
        "output": [image, str(tuple(d_i.shape[1:])), str(tuple(d_r.shape[1:])), str(tuple(fmap.shape[1:]))],
        "parameters": [param_count(gan.gen_ir), param_count(gan.disc_ir), param_count(gan.disc_rgb),
                       param_count(teacher.former)],
    }).set_index("network")


# ---- notebook 02: Fig. 5 and its measures -------------------------------------------------------
def shared_test_ids(dataset) -> list[int]:
    """The test identities with both IR and RGB images, sorted."""
    return sorted({r.pid for r in dataset.test if r.modality == "ir"} & {r.pid for r in dataset.test
                                                                          if r.modality == "rgb"})


def first_image(dataset, pid: int, modality: str, transform) -> torch.Tensor:
    """The first test image of person ``pid`` in ``modality``, through ``transform`` (ImageNet-normalised)."""
    rec = next(r for r in dataset.test if r.pid == pid and r.modality == modality)
    return ImageDataset([rec], transform)[0][0]


@torch.no_grad()
def translate(gan, dataset, pids: Sequence[int], transform, device) -> dict[str, torch.Tensor]:
    """Fig. 5's columns for the first test image of each person, in [0, 1] on the CPU: real RGB, fake IR,
    rec. RGB, real IR, fake RGB. ``gan`` runs in eval mode and is left in the mode it had."""
    xr = reid_to_gan(torch.stack([first_image(dataset, p, "rgb", transform) for p in pids]).to(device))
    xi = reid_to_gan(torch.stack([first_image(dataset, p, "ir", transform) for p in pids]).to(device))
    was_training = gan.training
    gan.eval()
    fake_ir = gan.gen_ir(xr)
    out = {"real RGB": xr, "fake IR": fake_ir, "rec. RGB": gan.gen_rgb(fake_ir), "real IR": xi,
           "fake RGB": gan.gen_rgb(xi)}
    gan.train(was_training)
    return {k: ((v + 1) / 2).clamp(0, 1).cpu() for k, v in out.items()}


def l1_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference per image (over pixels and channels): shape (N,)."""
    return (a - b).abs().mean(dim=(1, 2, 3))


def chroma(x: torch.Tensor) -> float:
    """The spread across the colour channels, images in [0, 1]: about 0 for grey images."""
    return float(x.std(dim=1).mean())


def luma(x: torch.Tensor) -> torch.Tensor:
    """The grey level of (N, 3, H, W) images: (N, 1, H, W)."""
    return (x * torch.tensor(LUMA_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)


def layout_corr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over images of the correlation of grey levels: does the light-and-dark layout come back?"""
    a, b = luma(a).flatten(1), luma(b).flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return float(((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + 1e-8)).mean())


def translation_with_errors(images: Mapping[str, torch.Tensor], pids: Sequence[int], title: str | None = None):
    """:func:`~tsgan_lib.report.maps.translation_figure` of :func:`translate`'s columns, one row per person,
    with the L1 error of each reconstruction to its real RGB under it. Returns the Figure."""
    rec_err = l1_per_image(images["rec. RGB"], images["real RGB"])
    return translation_figure(images, [f"id {p}" for p in pids],
                              notes={"rec. RGB": [f"L1 {float(e):.3f}" for e in rec_err]}, title=title)


def reconstruction_measures(images: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """On :func:`translate`'s columns: each column's chroma; the L1 to the real RGB of its reconstruction, of its
    grey copy (its luminance in all three channels) and of a flat image of its mean colour; the reconstruction's
    grey-level correlation with it (:func:`layout_corr`)."""
    real, rec = images["real RGB"], images["rec. RGB"]
    grey, flat = luma(real).expand_as(real), real.mean(dim=(2, 3), keepdim=True).expand_as(real)
    rec_l1, grey_l1, flat_l1 = (float(l1_per_image(x, real).mean()) for x in (rec, grey, flat))
    return {"chroma": {k: chroma(v) for k, v in images.items()}, "rec_l1": rec_l1, "grey_l1": grey_l1,
            "flat_l1": flat_l1, "layout": layout_corr(rec, real)}


def reconstruction_table(m: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`reconstruction_measures` as the table of notebook 02's section 6 (rounded to 3 places)."""
    return pd.DataFrame({"chroma": dict(m["chroma"]),
                         "L1 to the real RGB": {"rec. RGB": m["rec_l1"], "grey copy of the real RGB": m["grey_l1"],
                                                "flat mean colour of the real RGB": m["flat_l1"]},
                         "grey-level correlation with the real RGB": {"rec. RGB": m["layout"]}}).round(3)


def reconstruction_text(m: Mapping[str, Any], *, steps: int, cyc_first: float, cyc_last: float) -> str:
    """What the measures say about the cycle after ``steps`` training steps (``cyc_first``, ``cyc_last``: the
    weighted cycle term at the start and the end of training)."""
    rec_l1, grey_l1, flat_l1, layout = m["rec_l1"], m["grey_l1"], m["flat_l1"], m["layout"]
    if rec_l1 < 0.5 * grey_l1:
        colours = f"well below the grey copy's ({grey_l1:.3f}): most colours come back"
    elif rec_l1 < grey_l1:
        colours = f"below the grey copy's ({grey_l1:.3f}) but not by much: some colours come back, many are wrong"
    elif rec_l1 < flat_l1:
        colours = (f"above the grey copy's ({grey_l1:.3f}), below a flat image of the mean colour ({flat_l1:.3f}): "
                   "the colours are mostly wrong")
    else:
        colours = (f"above the grey copy's ({grey_l1:.3f}) and even a flat image of the input's mean colour "
                   f"({flat_l1:.3f}): colours and brightness are wrong, as the figure shows")
    shape = ("its light-and-dark layout does come back" if layout > 0.6 else
             "its light-and-dark layout comes back only in part" if layout > 0.3 else "not even its layout comes back")
    return (
        f"After {steps} steps, G_R(G_I(X_R)) is **not** the RGB input yet. It differs from X_R by "
        f"**{rec_l1:.3f}** per pixel and channel (about {rec_l1 * 255:.0f} of 255 levels), {colours}; {shape} "
        f"(grey-level correlation with the input {layout:.2f}). So the cycle is only partly closed. Part of this is by "
        f"design: the fake IR in the middle has no colour, so G_R must *guess* the colours back from grey, which the "
        f"cycle loss (ω·L_cyc fell from {cyc_first:.2f} to {cyc_last:.2f} here) teaches only over many more steps; "
        f"the paper trains for 120 epochs. For TS-GAN the fake IR matters more than the reconstruction, and G_I has "
        f"learnt to drop colour: its chroma is {m['chroma']['fake IR']:.3f} against {m['chroma']['real RGB']:.3f} "
        f"for real RGB.")


# ---- notebook 03 --------------------------------------------------------------------------------
def load_fitting_cyclegan(path: str | os.PathLike, device, data: DataConfig, fmap_channels: int):
    """``(CycleGAN, what it is)`` when ``path`` holds a CycleGAN whose record fits ``data`` (image size, data)
    and a backbone with ``fmap_channels`` layer-3 channels; ``(None, why not)`` otherwise."""
    path = Path(path)
    if not path.is_file():
        return None, f"{path} does not exist"
    gan, rec = load_network(path, device, kind="cyclegan")
    why = rec.mismatch(settings__height=data.height, settings__width=data.width, data=data_tag(data),
                       arch__fmap_channels=fmap_channels)
    if why is not None:
        return None, f"{path} does not fit ({why})"
    return gan, (f"{path} ({rec.settings['steps']} training steps in notebook 02; reconstruction L1 "
                 f"{rec.quality.get('rec_rgb_l1', float('nan')):.3f})")


def ts_maps_figure(images: Mapping[str, torch.Tensor], teacher_maps: Mapping[str, torch.Tensor],
                   student_maps: Mapping[str, torch.Tensor], rows: Sequence[int], title: str):
    """Per row (a batch index): real IR with T's and S's maps, fake IR with T's and S's, real RGB with S's and
    T's (which no loss uses). Each mapping has the keys ``"ir"``, ``"fake"``, ``"rgb"``; images are
    ImageNet-normalised. Returns the Figure."""
    columns = [("X_I", reid_to_unit(images["ir"]), "image"), ("T(X_I)", teacher_maps["ir"], "map"),
               ("S(X_I)", student_maps["ir"], "map"),
               ("X_I'", reid_to_unit(images["fake"]), "image"), ("T(X_I')", teacher_maps["fake"], "map"),
               ("S(X_I')", student_maps["fake"], "map"), ("X_R", reid_to_unit(images["rgb"]), "image"),
               ("S(X_R)", student_maps["rgb"], "map"), ("T(X_R)\nunused", teacher_maps["rgb"], "map")]
    return feature_map_figure(columns, rows, title=title)


def pair_dist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-element mean squared distance of every row of ``a`` to every row of ``b`` (flattened): (N, M)."""
    a, b = a.flatten(1), b.flatten(1)
    return (a.pow(2).sum(1)[:, None] + b.pow(2).sum(1)[None, :] - 2 * a @ b.t()).clamp(min=0) / a.shape[1]


def cd_distances(f_rgb: torch.Tensor, f_ir: torch.Tensor, t_ir: torch.Tensor, labels: torch.Tensor) -> dict:
    """The distances the cross-domain experiment records: the student's RGB maps ``f_rgb`` to the teacher's maps
    of real IR ``t_ir`` of the same person and of other persons, and to the student's own IR maps ``f_ir`` of
    the same person (the batch's i-th RGB and IR images are of person ``labels[i]``)."""
    same = (labels[:, None] == labels[None, :]).float()
    diff = 1.0 - same
    d_t, d_s = pair_dist(f_rgb, t_ir), pair_dist(f_rgb, f_ir)
    return {"RGB→IR same person": float((d_t * same).sum() / same.sum()),
            "RGB→IR other persons": float((d_t * diff).sum() / diff.sum()),
            "student RGB vs IR, same person": float((d_s * same).sum() / same.sum())}


def cd_text(cd_log: pd.DataFrame) -> str:
    """What the cross-domain experiment did, from its log (a row per step: ``step``, ``L_CD (Eq. 15)`` and
    :func:`cd_distances`' columns): the fall of L_CD, the shared shift toward the teacher's space, the identity
    margin, and whether the student's IR maps followed its RGB maps."""
    start, end = cd_log.iloc[0], cd_log.iloc[-1]
    margin = cd_log["RGB→IR other persons"] - cd_log["RGB→IR same person"]
    shift = start["RGB→IR other persons"] - end["RGB→IR other persons"]
    closer = margin.iloc[-1] / end["RGB→IR other persons"]  # relative identity margin at the end
    student_gap = cd_log["student RGB vs IR, same person"]
    gap_s = (student_gap.iloc[0], student_gap.iloc[-1])
    low = student_gap.min()
    return (
        f"In {int(end['step'])} steps L_CD fell from {start['L_CD (Eq. 15)']:.4f} to **{end['L_CD (Eq. 15)']:.4f}**. "
        f"The distance from a person's RGB map to the teacher's map of a real IR image of that person fell from "
        f"{start['RGB→IR same person']:.4f} to **{end['RGB→IR same person']:.4f}**, and to other persons' from "
        f"{start['RGB→IR other persons']:.4f} to {end['RGB→IR other persons']:.4f}: a shared shift of {shift:.4f} "
        f"toward the teacher's feature space. The identity margin (other persons − same person) went from "
        f"{margin.iloc[0]:+.4f} to **{margin.iloc[-1]:+.4f}**: at the end the teacher's maps of a person's own IR "
        f"images are {closer:.0%} closer to that person's RGB maps than other persons' are "
        + ("(clearly: part of the move is about the person, not only the shared shift). " if closer > 0.1 else
           "(slightly: nearly all of the move is the shared shift). " if closer > 0.02 else
           "(not at all: the move is the shared shift, not about the person). ")
        + f"Inside the student, the RGB-IR distance of the same person went from {gap_s[0]:.4f} to {gap_s[1]:.4f}"
        + (f", passing through a low of {low:.4f} on the way: " if low < 0.95 * gap_s[1] else ": ")
        + ("through the shared weights its IR maps moved with its RGB maps, " if gap_s[1] < 0.95 * gap_s[0] else
           "its IR maps did not follow its RGB maps, ")
        + "but nothing in this loss pulls them toward each other on purpose; that is Eq. (13)-(14)'s job.")
