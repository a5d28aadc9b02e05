"""A procedurally generated stand-in for SYSU-MM01, in SYSU-MM01's exact layout,
and the person model and sensor renderers it shares with the RegDB stand-in
(:mod:`tsgan_lib.data.synthetic_regdb`).

SYSU-MM01 is licence-gated and cannot ship with this project, so every
notebook's default data is generated here. It is a *teaching stand-in*:
numbers measured on it are not SYSU-MM01 numbers, and must never be reported
as such. What it keeps from the real set is what the method is about:

* **Identity signal.** Each person has a persistent appearance drawn once from
  their id: height and build, hair style and colour, upper and lower clothing
  (two dye colours each, texture, sleeve / leg length, material), shoes and an
  accessory (backpack, shoulder bag or hat) with their materials, and the
  near-infrared (NIR) reflectance of every dye, of their skin and of their hair.
* **A real modality gap.** RGB cameras (1, 2, 4, 5) render colour and texture
  under per-camera illumination, background, viewpoint and pose, scale, blur
  and noise. The IR cameras (3, 6) render one of two sensors, chosen by
  ``SyntheticConfig.ir_sensor``:

  - ``"nir"`` (the default; what SYSU-MM01's IR cameras are): near-infrared
    with active illumination. The camera sees the NIR light its illuminator
    sends back, so clothing shows as the NIR *reflectance* of its dye and
    fibre, not its colour. Each garment's dye gets a reflectance drawn per
    garment and only loosely tied to its visible colour: a colour term that is
    not luminance (warm hues such as red, orange and yellow reflect NIR
    strongly, blues and cyans less), plus a per-garment random term (the dye
    recipe), plus the fibre (cotton and wool scatter more, leather is dark,
    synthetics and leather have a sheen). Dark dyes are either carbon-black
    pigments that absorb NIR (stay black) or NIR-transparent dyes that turn
    mid-grey. So some garments that differ in RGB collide in NIR and some that
    look alike in RGB differ: the modality gap. The two dyes of a striped,
    checked or dotted garment each get their own reflectance, so a print may
    keep its contrast, lose it or invert. Skin is bright (reflectance 0.50-0.65
    whatever its visible tone); hair is darker than skin but brighter than in
    visible light (dark hair several times so), varying with its colour; shoes
    by their material (rubber dark, leather mid, canvas bright); accessories by
    their dye and material. The illuminator makes the image centre-bright
    (vignetting around a per-image beam centre), and brightness falls with the
    square of the distance: each image draws the person's distance, and the
    background, further away, is dark with little detail. Surfaces facing the
    camera are brightest (coaxial light). Strong signal-dependent sensor noise
    and blur; no colour.
  - ``"thermal"`` (far-infrared, what RegDB's second camera is; kept for
    comparison and used by the RegDB stand-in): *temperature*. Exposed skin is
    hot, clothing warm with a material-dependent emissivity (its texture shows
    only as an emissivity pattern), hair lukewarm, accessories and shoes cold.

  IR images are stored as 3 identical channels. A fraction of identities are
  generated as "colour twins" of another identity (same body, cut, materials
  and accessory, other colours and dyes): they are separable in RGB, collide in
  thermal images, and in NIR collide or not depending on their dyes.
* **The camera topology.** Cameras 1, 2 (indoor RGB) and 3 (IR, in camera 2's
  room) see only a subset of the identities ("indoor ids"); cameras 4, 5
  (outdoor RGB) and 6 (outdoor IR) see nearly everyone. Every test id has
  images in both modalities, and splits are disjoint.

Files: ``root/cam{1..6}/<PPPP>/<IIII>.jpg`` (IR stored as 3 identical
channels) and ``root/exp/{train,val,test}_id.txt`` (one comma-separated line),
exactly what :func:`tsgan_lib.data.sysu.load_sysu` reads for the real set.

Determinism: every image is drawn from its own RNG seeded by
``(seed, pid, camera, index)``, so the same arguments give byte-identical
files. :func:`make_synthetic_sysu` writes into a temporary folder and renames
it into place, and records its arguments in ``root/SYNTHETIC.json``; a second
call with the same arguments returns at once. :func:`synthetic_sysu_root`
picks a cache folder keyed by the arguments. :func:`render_sensors` renders one
person in one pose through the three sensors side by side, and
:func:`region_masks` says which pixels of an image show which body region.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, fields
from functools import lru_cache, partial
from pathlib import Path
from typing import Annotated, Callable, Mapping

import numpy as np
from PIL import Image, ImageFilter

from tsgan_lib.ranges import AtLeast, Between, OneOf, Positive, Probability, check_fields

from .records import DatasetError
from .sysu import ALL_CAMERAS, IR_CAMERAS, RGB_CAMERAS

GENERATOR_VERSION = 2  # 2: NIR sensor for the IR cameras (1: thermal only)
MARKER = "SYNTHETIC.json"
INDOOR_CAMS = (1, 2, 3)
IR_SENSORS = ("nir", "thermal")

# A palette of clothing colours (RGB in [0, 1]); ids draw from it with jitter,
# so colour is a strong but not unique identity cue in RGB.
PALETTE = np.array([
    [0.85, 0.10, 0.10], [0.10, 0.25, 0.80], [0.10, 0.55, 0.20], [0.95, 0.85, 0.15],
    [0.95, 0.95, 0.95], [0.08, 0.08, 0.08], [0.55, 0.55, 0.58], [0.50, 0.25, 0.10],
    [0.95, 0.50, 0.10], [0.55, 0.15, 0.60], [0.95, 0.60, 0.75], [0.15, 0.70, 0.75],
    [0.20, 0.20, 0.40], [0.80, 0.75, 0.60],
], dtype=np.float32)
HAIR_COLOURS = np.array([[0.05, 0.04, 0.03], [0.30, 0.18, 0.08], [0.75, 0.60, 0.30], [0.55, 0.55, 0.55]], np.float32)
SKIN_TONES = np.array([[0.95, 0.80, 0.68], [0.85, 0.65, 0.50], [0.60, 0.42, 0.30], [0.40, 0.27, 0.18]], np.float32)
TEXTURES = ("plain", "hstripes", "vstripes", "checks", "dots")
# Thermal behaviour of a clothing material: (surface temperature, emissivity
# contrast of its texture). Thin synthetics run warm, wool insulates (cool
# surface), leather is coldest.
MATERIALS = {"cotton": (0.62, 0.10), "synthetic": (0.70, 0.06), "wool": (0.50, 0.16), "leather": (0.36, 0.04)}
ACCESSORIES = ("none", "backpack", "shoulder_bag", "hat")
T_SKIN, T_HAIR, T_COLD, T_SHOE = 0.95, 0.55, 0.18, 0.25

# ---- near-infrared optics (reflectances in [0, 1])
# A dye's colour term: a linear map of its RGB that is NOT luminance (warm hues
# reflect NIR, blue absorbs some); the per-garment dye recipe adds a normal
# term of this spread.
NIR_COLOUR_TERM = (0.30, np.array([0.50, 0.05, -0.20], np.float32))
NIR_DYE_SPREAD = 0.12
# Dark dyes (visible luminance below this) are carbon-black pigments with
# probability NIR_CARBON_P (NIR reflectance 0.04-0.12), else NIR-transparent.
NIR_DARK_DYE, NIR_CARBON_P = 0.15, 0.5
# Fibre: (gain, offset) applied to the dye's reflectance, and specular sheen.
NIR_FIBRE = {"cotton": (1.0, 0.05), "synthetic": (0.9, 0.0), "wool": (0.9, 0.08), "leather": (0.55, 0.0)}
NIR_SHEEN = {"cotton": 0.0, "synthetic": 0.10, "wool": 0.0, "leather": 0.14}
NIR_SKIN = (0.50, 0.65)                 # uniform, whatever the visible tone
NIR_HAIR = (0.12, 0.55, 0.02)           # offset + slope * visible luminance, + normal jitter
SHOE_MATERIALS = {"rubber": 0.12, "leather": 0.28, "canvas": 0.50}  # NIR reflectance
ACCESSORY_MATERIALS = ("synthetic", "leather", "cotton")            # dyed; fibre as in NIR_FIBRE
NIR_DISTANCE = (1.0, 1.6)               # person distance / the exposure's reference distance
NIR_BEHIND = (1.0, 3.0)                 # how much further the background is
NIR_SHOT_NOISE = 0.004                  # variance per unit signal (plus the camera's read noise)
LUMINANCE = np.array([0.2126, 0.7152, 0.0722], np.float32)
DYED = ("upper", "upper2", "lower", "lower2", "acc")


@dataclass(frozen=True)
class SyntheticConfig:
    """Arguments of the SYSU-MM01 stand-in's generator (they form the cache
    key). ``ir_sensor``: what cameras 3 and 6 render, ``"nir"`` (SYSU-MM01's
    near-infrared cameras) or ``"thermal"`` (far-infrared, as in RegDB)."""

    num_ids: Annotated[int, AtLeast(6, why="two ids per split")] = 160
    seed: Annotated[int, Between(0, 2**32 - 1)] = 0
    height: Annotated[int, AtLeast(32)] = 128
    width: Annotated[int, AtLeast(16)] = 64
    images_per_camera: Annotated[tuple[int, int], AtLeast(1)] = (2, 6)
    split_fractions: Annotated[tuple[float, float, float], Positive] = (0.6, 0.15, 0.25)
    indoor_fraction: Annotated[float, Probability] = 0.6
    twin_fraction: Annotated[float, Probability] = 0.2
    jpeg_quality: Annotated[int, Between(1, 100)] = 90
    ir_sensor: Annotated[str, OneOf(*IR_SENSORS)] = "nir"

    def validate(self) -> None:
        """``ValueError`` naming the field: each one outside the range stated beside it, then the rules
        that tie fields together."""
        check_fields(self)
        lo, hi = self.images_per_camera
        if lo > hi:
            raise ValueError(f"images_per_camera={[lo, hi]}: expected (lo, hi) with lo <= hi")
        if _split_sizes(self)[0] < 2:
            raise ValueError(f"num_ids={self.num_ids} leaves fewer than 2 training ids with "
                             f"split_fractions={list(self.split_fractions)}")

    def key(self) -> str:
        payload = json.dumps({"version": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def config_from(cls, kwargs: Mapping, caller: str):
    """``cls(**kwargs)`` for a generator config dataclass, lists turned into
    tuples; unknown names raise ``TypeError`` naming them and the known ones."""
    known = {f.name for f in fields(cls)}
    unknown = set(kwargs) - known
    if unknown:
        raise TypeError(f"{caller} got unknown arguments {sorted(unknown)}; expected some of {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()})


# ---------------------------------------------------------------- identities
def _identity(seed: int, pid: int, population: tuple[int, ...] = ()) -> dict:
    """The persistent appearance of person ``pid`` (colour and structure).
    ``population`` prefixes every seed, so another stand-in (RegDB's) draws
    other people for the same ids."""
    rng = np.random.default_rng([seed, *population, pid, 0])
    structure = {
        "height": rng.uniform(0.80, 0.96),
        "build": rng.uniform(0.80, 1.25),
        "head": rng.uniform(0.9, 1.15),
        "hair_style": int(rng.integers(3)),  # 0 short, 1 long, 2 bald / shaved
        "sleeve": float(rng.choice([0.25, 1.0], p=[0.4, 0.6])),  # short or long sleeves
        "lower": int(rng.integers(3)),  # 0 trousers, 1 shorts, 2 skirt
        "upper_tex": TEXTURES[int(rng.integers(len(TEXTURES)))],
        "lower_tex": TEXTURES[int(rng.choice(len(TEXTURES), p=[0.5, 0.125, 0.125, 0.125, 0.125]))],
        "tex_period": rng.uniform(0.035, 0.08),
        "upper_mat": list(MATERIALS)[int(rng.integers(len(MATERIALS)))],
        "lower_mat": list(MATERIALS)[int(rng.integers(len(MATERIALS)))],
        "accessory": ACCESSORIES[int(rng.integers(len(ACCESSORIES)))],
        "gait": rng.uniform(0.5, 1.5),
    }
    colours = _colours(rng)
    # materials of the shoes and the accessory: structure (colour twins share
    # them), from their own stream so the draws above are unchanged
    mrng = np.random.default_rng([seed, *population, pid, 6])
    structure["shoe_mat"] = list(SHOE_MATERIALS)[int(mrng.integers(len(SHOE_MATERIALS)))]
    structure["acc_mat"] = ACCESSORY_MATERIALS[int(mrng.integers(len(ACCESSORY_MATERIALS)))]
    return {"structure": structure, **colours}


def _colours(rng: np.random.Generator) -> dict:
    def pick():
        c = PALETTE[int(rng.integers(len(PALETTE)))] + rng.normal(0, 0.05, 3)
        return np.clip(c, 0, 1).astype(np.float32)
    return {
        "upper": pick(), "upper2": pick(), "lower": pick(), "lower2": pick(),
        "shoes": pick() * 0.6, "acc": pick(),
        "hair": HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))],
        "skin": SKIN_TONES[int(rng.integers(len(SKIN_TONES)))],
    }


def dye_nir_reflectance(rgb: np.ndarray, fibre: str, recipe: float, carbon: bool) -> float:
    """NIR reflectance of a garment dyed ``rgb`` on ``fibre``: the colour term
    (:data:`NIR_COLOUR_TERM`, not luminance) plus the dye recipe's random term
    ``recipe``; a dark dye that is a ``carbon``-black pigment absorbs NIR
    instead; then the fibre's gain and offset."""
    lum = float(LUMINANCE @ rgb)
    if lum < NIR_DARK_DYE and carbon:
        base = 0.04 + min(abs(recipe), 0.08)
    else:
        base = float(np.clip(NIR_COLOUR_TERM[0] + NIR_COLOUR_TERM[1] @ rgb + recipe, 0.02, 0.90))
    gain, offset = NIR_FIBRE[fibre]
    return float(np.clip(gain * base + offset, 0.03, 0.92))


def _nir_appearance(seed: int, pid: int, ident: dict, population: tuple[int, ...] = ()) -> dict:
    """NIR reflectances of ``ident``'s dyes, skin, hair and shoes. The dye
    recipes are the person's own (drawn from ``pid``), the fibres come from
    the structure, so a colour twin shares fibres but not dyes."""
    s = ident["structure"]
    rng = np.random.default_rng([seed, *population, pid, 7])
    fibre = {"upper": s["upper_mat"], "upper2": s["upper_mat"], "lower": s["lower_mat"],
             "lower2": s["lower_mat"], "acc": s["acc_mat"]}
    nir = {}
    for g in DYED:
        recipe, carbon = float(rng.normal(0, NIR_DYE_SPREAD)), bool(rng.random() < NIR_CARBON_P)
        nir[g] = dye_nir_reflectance(ident[g], fibre[g], recipe, carbon)
    nir["skin"] = float(rng.uniform(*NIR_SKIN))
    a, b, jitter = NIR_HAIR
    hair = a + b * float(LUMINANCE @ ident["hair"]) + rng.normal(0, jitter)
    nir["hair"] = float(np.clip(hair, 0.05, nir["skin"] - 0.05))  # darker than skin
    nir["shoes"] = float(np.clip(SHOE_MATERIALS[s["shoe_mat"]] + rng.normal(0, 0.03), 0.03, 0.9))
    return nir


def _identities(seed: int, twin_fraction: float, groups: Mapping[str, list[int]],
                population: tuple[int, ...] = ()) -> dict[int, dict]:
    """All identities; within each group (split), a ``twin_fraction`` of ids
    copy the structure (not the colours, nor the dyes) of an earlier id of
    the same group. Each identity's ``"nir"`` holds its NIR reflectances."""
    ids = {}
    rng = np.random.default_rng([seed, *population, 1])
    for group_ids in groups.values():
        for i, pid in enumerate(group_ids):
            ident = _identity(seed, pid, population)
            if i > 0 and rng.random() < twin_fraction:
                src = group_ids[int(rng.integers(i))]
                ident["structure"] = dict(ids[src]["structure"])
                ident["twin_of"] = src
            ident["nir"] = _nir_appearance(seed, pid, ident, population)
            ids[pid] = ident
    return ids


# ------------------------------------------------------------------- drawing
def _ellipse(yy, xx, cy, cx, ry, rx):
    d = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
    return np.clip((1.0 - d) * 4.0, 0.0, 1.0)


def _strip(yy, xx, y0, y1, x0, x1, hw):
    """A slanted strip from (y0, x0) to (y1, x1) of half-width ``hw`` (soft edges)."""
    t = np.clip((yy - y0) / max(y1 - y0, 1e-6), 0.0, 1.0)
    xc = x0 + t * (x1 - x0)
    inside_y = np.clip(np.minimum(yy - y0, y1 - yy) * 2.0 + 0.5, 0.0, 1.0)
    return np.clip((hw - np.abs(xx - xc)) * 2.0 + 0.5, 0.0, 1.0) * inside_y


def _texture(kind: str, yy, xx, period: float, hp: float) -> np.ndarray:
    p = period * hp
    if kind == "plain":
        return np.zeros_like(yy)
    if kind == "hstripes":
        return (np.sin(2 * np.pi * yy / p) > 0).astype(np.float32)
    if kind == "vstripes":
        return (np.sin(2 * np.pi * xx / p) > 0).astype(np.float32)
    if kind == "checks":
        return ((np.sin(2 * np.pi * yy / p) > 0) ^ (np.sin(2 * np.pi * xx / p) > 0)).astype(np.float32)
    # dots
    return ((np.sin(2 * np.pi * yy / p) * np.sin(2 * np.pi * xx / p)) > 0.6).astype(np.float32)


def _body_layers(s: dict, yy, xx, cx: float, top: float, hp: float, view: str, swing: float, stride: float):
    """Masks of the body parts, in painting order. ``view``: front/back/side."""
    u = hp  # person height in pixels: every length below is a fraction of it
    wf = 0.6 if view == "side" else 1.0
    bw = s["build"] * wf
    torso_hw = 0.105 * u * bw
    head_c = top + 0.075 * u
    head_ry, head_rx = 0.062 * u * s["head"], 0.048 * u * s["head"]
    hip = top + 0.52 * u
    foot = top + 0.97 * u
    leg_hw = 0.042 * u * s["build"] * (0.85 if view == "side" else 1.0)
    leg_dx = 0.045 * u * bw
    m = {}
    # legs, with stride (side view: legs cross front/back)
    m["leg_l"] = _strip(yy, xx, hip, foot - 0.03 * u, cx - leg_dx, cx - leg_dx - stride * u, leg_hw)
    m["leg_r"] = _strip(yy, xx, hip, foot - 0.03 * u, cx + leg_dx, cx + leg_dx + stride * u, leg_hw)
    m["shoe_l"] = _ellipse(yy, xx, foot - 0.02 * u, cx - leg_dx - stride * u, 0.022 * u, leg_hw * 1.3)
    m["shoe_r"] = _ellipse(yy, xx, foot - 0.02 * u, cx + leg_dx + stride * u, 0.022 * u, leg_hw * 1.3)
    # torso: a rounded box from the shoulders to the hips
    sh = top + 0.14 * u
    m["torso"] = np.clip((torso_hw - np.abs(xx - cx)) * 1.5 + 0.5, 0, 1) * np.clip(np.minimum(yy - sh, hip + 0.02 * u - yy) + 0.5, 0, 1)
    m["neck"] = _strip(yy, xx, top + 0.12 * u, sh + 0.01 * u, cx, cx, 0.022 * u)
    arm_x = torso_hw + 0.028 * u
    arm_end = top + 0.50 * u
    m["arm_l"] = _strip(yy, xx, sh + 0.01 * u, arm_end, cx - arm_x, cx - arm_x - swing * u, 0.028 * u)
    m["arm_r"] = _strip(yy, xx, sh + 0.01 * u, arm_end, cx + arm_x, cx + arm_x + swing * u, 0.028 * u)
    m["hand_l"] = _ellipse(yy, xx, arm_end, cx - arm_x - swing * u, 0.025 * u, 0.022 * u)
    m["hand_r"] = _ellipse(yy, xx, arm_end, cx + arm_x + swing * u, 0.025 * u, 0.022 * u)
    m["head"] = _ellipse(yy, xx, head_c, cx, head_ry, head_rx)
    m["geometry"] = {"sh": sh, "hip": hip, "foot": foot, "arm_end": arm_end, "torso_hw": torso_hw,
                     "head_c": head_c, "head_ry": head_ry, "head_rx": head_rx, "u": u}
    return m


def _draw_pose(s: dict, view_bias, rng: np.random.Generator, H: int, W: int) -> dict:
    """Framing, view and walking phase of one image (detector boxes are loose
    and jittered)."""
    hp = H * s["height"] * rng.uniform(0.88, 1.0)
    top = (H - hp) * rng.uniform(0.2, 0.8)
    cx = W / 2 + rng.normal(0, 0.04 * W)
    view = ("front", "back", "side")[int(rng.choice(3, p=view_bias))]
    phase = rng.uniform(-1, 1)
    return {"hp": hp, "top": top, "cx": cx, "view": view, "phase": phase}


# painting order; every sensor paints these layers
LAYERS = ("acc_back", "bare_legs", "clothed_legs", "shoes", "torso", "sleeve", "forearm", "neck",
          "face", "head_back", "hair", "acc_front")


def _scene(s: dict, pose: dict, H: int, W: int) -> dict:
    """The person's layer masks (in painting order) and texture maps for one
    pose; no randomness."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    hp, top, cx, view, phase = pose["hp"], pose["top"], pose["cx"], pose["view"], pose["phase"]
    swing = 0.04 * s["gait"] * phase
    stride = 0.05 * s["gait"] * phase * (1.0 if view == "side" else 0.35)

    m = _body_layers(s, yy, xx, cx, top, hp, view, swing, stride)
    g = m.pop("geometry")
    u = g["u"]
    py, px = yy - top, xx - cx  # texture coordinates move with the person
    tex_up = _texture(s["upper_tex"], py, px, s["tex_period"], u)
    tex_lo = _texture(s["lower_tex"], py, px, s["tex_period"] * 1.3, u)

    # region masks derived from the identity's cut
    sleeve_end = g["sh"] + s["sleeve"] * (g["arm_end"] - g["sh"])
    arms = np.maximum(m["arm_l"], m["arm_r"])
    sleeve = arms * (yy <= sleeve_end)
    forearm = np.maximum(arms * (yy > sleeve_end), np.maximum(m["hand_l"], m["hand_r"]))
    legs = np.maximum(m["leg_l"], m["leg_r"])
    lower_end = {0: g["foot"] - 0.04 * u, 1: g["hip"] + 0.17 * u, 2: g["hip"] + 0.2 * u}[s["lower"]]
    clothed_legs = legs * (yy <= lower_end)
    if s["lower"] == 2:  # skirt: a flared trapezoid over the hips
        t = np.clip((yy - g["hip"]) / (0.2 * u), 0, 1)
        hw = g["torso_hw"] * (1.0 + 0.5 * t)
        skirt = np.clip((hw - np.abs(xx - cx)) + 0.5, 0, 1) * (yy >= g["hip"] - 0.01 * u) * (yy <= lower_end)
        clothed_legs = np.maximum(clothed_legs, skirt)
    bare_legs = legs * (yy > lower_end)
    shoes = np.maximum(m["shoe_l"], m["shoe_r"])
    head = m["head"]
    hair = _hair_mask(s, yy, xx, cx, g, view)
    face = head * (1 - hair) * (0.0 if view == "back" else 1.0)
    head_back = head * (1 - hair) * (1.0 if view == "back" else 0.0)
    acc_back, acc_front = _accessory_masks(s, yy, xx, cx, g, view)
    masks = {"acc_back": acc_back, "bare_legs": bare_legs, "clothed_legs": clothed_legs, "shoes": shoes,
             "torso": m["torso"], "sleeve": sleeve, "forearm": forearm, "neck": m["neck"], "face": face,
             "head_back": head_back, "hair": hair, "acc_front": acc_front}
    return {"layers": [(name, masks[name]) for name in LAYERS], "tex_up": tex_up, "tex_lo": tex_lo,
            "yy": yy, "xx": xx, "cx": cx, "torso_hw": g["torso_hw"]}


def _hair_mask(s, yy, xx, cx, g, view):
    style = s["hair_style"]
    if style == 2:
        return np.zeros_like(yy)
    hc, ry, rx = g["head_c"], g["head_ry"], g["head_rx"]
    cap = _ellipse(yy, xx, hc - 0.25 * ry, cx, ry * 0.85, rx * 1.08) * (yy < hc - (0.1 if view != "back" else -1.0) * ry)
    if view == "back":
        cap = np.maximum(cap, _ellipse(yy, xx, hc, cx, ry * 1.02, rx * 1.05))
    if style == 1:  # long hair falls to the shoulders and beyond
        drop = _strip(yy, xx, hc, hc + 2.6 * ry, cx, cx, rx * 1.05)
        cap = np.maximum(cap, drop * (1.0 if view != "front" else 0.0)
                         + drop * (np.abs(xx - cx) > 0.7 * rx) * (1.0 if view == "front" else 0.0))
    return np.clip(cap, 0, 1)


def _accessory_masks(s, yy, xx, cx, g, view):
    z = np.zeros_like(yy)
    acc, u, thw = s["accessory"], g["u"], g["torso_hw"]
    if acc == "backpack":
        pack = np.clip((0.85 * thw - np.abs(xx - cx)) + 0.5, 0, 1) * (yy > g["sh"] + 0.02 * u) * (yy < g["sh"] + 0.27 * u)
        if view == "back":
            return z, pack
        if view == "side":
            side = np.clip((0.07 * u - np.abs(xx - (cx - thw - 0.05 * u))) + 0.5, 0, 1) * (yy > g["sh"]) * (yy < g["sh"] + 0.27 * u)
            return z, side
        straps = sum(_strip(yy, xx, g["sh"], g["sh"] + 0.2 * u, cx + d * 0.55 * thw, cx + d * 0.55 * thw, 0.012 * u) for d in (-1, 1))
        return z, np.clip(straps, 0, 1)
    if acc == "shoulder_bag":
        d = -1 if view == "back" else 1
        bag = _ellipse(yy, xx, g["hip"] - 0.01 * u, cx + d * (thw + 0.02 * u), 0.06 * u, 0.05 * u)
        strap = _strip(yy, xx, g["sh"], g["hip"] - 0.05 * u, cx - d * 0.7 * thw, cx + d * thw, 0.01 * u)
        return z, np.clip(bag + strap, 0, 1)
    if acc == "hat":
        hat = _ellipse(yy, xx, g["head_c"] - 0.7 * g["head_ry"], cx, 0.45 * g["head_ry"], 1.35 * g["head_rx"])
        return z, hat
    return z, z


# ------------------------------------------------------------------ sensors
@dataclass(frozen=True)
class Camera:
    """How one camera sees: its viewpoint statistics, background, noise and
    blur, and its sensor's gain (``light``: RGB cameras' colour cast; ``gain``:
    IR cameras' exposure)."""

    name: str
    view_bias: tuple[float, float, float]  # P(front), P(back), P(side)
    noise: float
    blur: float
    background: Callable  # (rng, yy, xx, H, W) -> HxWx3 (RGB) or HxW (IR) array
    light: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gain: float = 1.0


def _mix(c1, c2, t):
    return c1[None, None, :] * (1 - t[..., None]) + c2[None, None, :] * t[..., None]


def _paint_rgb(ident: dict, sc: dict, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Colour under the camera's light: HxWx3 float."""
    yy, xx = sc["yy"], sc["xx"]
    H, W = yy.shape
    img = cam.background(rng, yy, xx, H, W)
    up = _mix(ident["upper"], ident["upper2"], sc["tex_up"])
    lo = _mix(ident["lower"], ident["lower2"], sc["tex_lo"])
    skin, hairc = ident["skin"], ident["hair"]
    colours = {
        "acc_back": ident["acc"], "bare_legs": skin, "clothed_legs": lo, "shoes": ident["shoes"],
        "torso": up, "sleeve": up, "forearm": skin, "neck": skin, "face": skin,
        "head_back": hairc, "hair": hairc, "acc_front": ident["acc"],
    }
    for name, mask in sc["layers"]:
        c = colours[name]
        c = c if c.ndim == 3 else c[None, None, :]
        img = img * (1 - mask[..., None]) + mask[..., None] * c
    # illumination: camera colour cast, brightness jitter, a soft vertical shading
    light = np.array(cam.light, np.float32) * rng.uniform(0.8, 1.15)
    shade = 1.0 - 0.25 * rng.uniform(0, 1) * (yy / H)[..., None]
    return img * light[None, None, :] * shade + rng.normal(0, cam.noise, img.shape)


def _paint_thermal(ident: dict, sc: dict, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Temperature (far infrared): HxW float."""
    s = ident["structure"]
    yy, xx = sc["yy"], sc["xx"]
    H, W = yy.shape
    img = cam.background(rng, yy, xx, H, W)
    lo_t, lo_e = MATERIALS[s["lower_mat"]]
    up_t, up_e = MATERIALS[s["upper_mat"]]
    tex_up, tex_lo = sc["tex_up"], sc["tex_lo"]
    body_heat = rng.uniform(0.9, 1.05)
    values = {
        "acc_back": T_COLD, "bare_legs": T_SKIN, "clothed_legs": lo_t + lo_e * (tex_lo - 0.5),
        "shoes": T_SHOE, "torso": up_t + up_e * (tex_up - 0.5), "sleeve": up_t + up_e * (tex_up - 0.5),
        "forearm": T_SKIN, "neck": T_SKIN, "face": T_SKIN, "head_back": T_HAIR, "hair": T_HAIR,
        "acc_front": T_COLD,
    }
    for name, mask in sc["layers"]:
        v = values[name] * (body_heat if name not in ("acc_back", "acc_front", "shoes") else 1.0)
        img = img * (1 - mask) + mask * v
    return cam.gain * img + rng.normal(0, 0.02) + rng.normal(0, cam.noise, img.shape)


def _paint_nir(ident: dict, sc: dict, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Reflected light of an active near-infrared illuminator: HxW float."""
    s, nir = ident["structure"], ident["nir"]
    yy, xx = sc["yy"], sc["xx"]
    H, W = yy.shape
    backdrop = cam.background(rng, yy, xx, H, W)  # reflectance, at the background's distance
    dist = rng.uniform(*NIR_DISTANCE)
    behind = dist + rng.uniform(*NIR_BEHIND)
    person_light, backdrop_light = 1.0 / dist ** 2, 1.0 / behind ** 2  # inverse-square falloff
    img = backdrop * backdrop_light
    # coaxial light: radiance ~ cos(incidence); a body is a rough cylinder
    # around its axis, so its flanks are darker; shiny fibres add a highlight
    cos = np.sqrt(np.clip(1.0 - ((xx - sc["cx"]) / (1.8 * sc["torso_hw"])) ** 2, 0.0, 1.0))
    facing = 0.7 + 0.3 * cos
    up = (nir["upper"] * (1 - sc["tex_up"]) + nir["upper2"] * sc["tex_up"]) + NIR_SHEEN[s["upper_mat"]] * cos ** 8
    lo = (nir["lower"] * (1 - sc["tex_lo"]) + nir["lower2"] * sc["tex_lo"]) + NIR_SHEEN[s["lower_mat"]] * cos ** 8
    acc = nir["acc"] + NIR_SHEEN[s["acc_mat"]] * cos ** 8
    values = {
        "acc_back": acc, "bare_legs": nir["skin"], "clothed_legs": lo, "shoes": nir["shoes"],
        "torso": up, "sleeve": up, "forearm": nir["skin"], "neck": nir["skin"], "face": nir["skin"],
        "head_back": nir["hair"], "hair": nir["hair"], "acc_front": acc,
    }
    for name, mask in sc["layers"]:
        img = img * (1 - mask) + mask * (values[name] * facing * person_light)
    # the illuminator's beam: centre-bright around a per-image beam centre
    by, bx = H * (0.5 + rng.normal(0, 0.1)), W * (0.5 + rng.normal(0, 0.2))
    r2 = ((yy - by) ** 2 + (xx - bx) ** 2) / (0.5 * H) ** 2
    vignette = 1.0 / (1.0 + rng.uniform(0.3, 0.7) * r2)
    signal = cam.gain * rng.uniform(0.9, 1.1) * vignette * img
    # shot noise (grows with the signal) and read noise
    sigma = np.sqrt(NIR_SHOT_NOISE * np.clip(signal, 0.0, None) + cam.noise ** 2)
    return signal + sigma * rng.standard_normal(img.shape)


_PAINTERS = {"rgb": _paint_rgb, "thermal": _paint_thermal, "nir": _paint_nir}


def _render(ident: dict, cam: Camera, sensor: str, rng: np.random.Generator, H: int, W: int,
            pose: dict | None = None) -> np.ndarray:
    """Render one image of ``ident`` through ``cam`` with ``sensor`` ("rgb",
    "nir" or "thermal"): HxWx3 uint8 (IR: 3 identical channels). ``pose``:
    a pose drawn beforehand (co-located cameras), else drawn from ``rng``."""
    if pose is None:
        pose = _draw_pose(ident["structure"], cam.view_bias, rng, H, W)
    sc = _scene(ident["structure"], pose, H, W)
    img = _PAINTERS[sensor](ident, sc, cam, rng)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)  # stored as 3 identical channels
    out = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    sigma = cam.blur * rng.uniform(0.7, 1.3)
    return np.asarray(out.filter(ImageFilter.GaussianBlur(sigma)))


# Per-camera appearance. cam1/cam2: bright indoor rooms; cam4 gate, cam5 garden
# (outdoor RGB); cam3: dark IR room (cam2's); cam6: cluttered outdoor IR passage.
_VIEW_BIAS = {1: (0.5, 0.3, 0.2), 2: (0.3, 0.3, 0.4), 3: (0.3, 0.3, 0.4),
              4: (0.4, 0.4, 0.2), 5: (0.2, 0.4, 0.4), 6: (0.35, 0.35, 0.3)}
_CAM_LIGHT = {1: (1.10, 1.00, 0.85), 2: (0.95, 1.00, 1.05), 4: (0.80, 0.85, 0.95), 5: (0.95, 1.05, 0.85)}
_CAM_GAIN_IR = {3: 0.85, 6: 1.0}   # thermal
_CAM_GAIN_NIR = {3: 1.9, 6: 1.8}   # NIR: exposure at the reference distance
_CAM_NOISE = {1: 0.015, 2: 0.02, 3: 0.05, 4: 0.025, 5: 0.03, 6: 0.04}
_CAM_BLUR = {1: 0.5, 2: 0.6, 3: 1.1, 4: 0.8, 5: 0.9, 6: 1.3}
# the RGB camera whose look render_sensors uses for an IR camera's scene
_RGB_BESIDE = {3: 2, 6: 4}


def _rgb_background(cam, rng, yy, xx, H, W):
    if cam in (1, 2):  # indoor room: a wall and a floor line
        wall = np.array([0.80, 0.76, 0.68] if cam == 1 else [0.62, 0.68, 0.72], np.float32)
        floor = np.array([0.45, 0.35, 0.28] if cam == 1 else [0.35, 0.35, 0.38], np.float32)
        horizon = H * rng.uniform(0.7, 0.8)
        t = np.clip(yy - horizon, 0, 1)[..., None]
        return wall * (1 - t) + floor * t + rng.normal(0, 0.02, 3).astype(np.float32)
    if cam == 4:  # gate: grey paving and vertical bars
        base = np.full((H, W, 3), 0.55, np.float32)
        bars = (np.sin(2 * np.pi * (xx + rng.uniform(0, 12)) / 12.0) > 0.7)[..., None] * 0.25
        return base - bars * (yy < H * 0.6)[..., None] + rng.normal(0, 0.02, 3).astype(np.float32)
    # garden: green foliage with blotches
    base = np.array([0.25, 0.45, 0.20], np.float32)[None, None, :]
    blot = np.sin(xx / 3.0 + rng.uniform(0, 6)) * np.sin(yy / 4.0 + rng.uniform(0, 6))
    return base + 0.08 * blot[..., None] + rng.normal(0, 0.02, 3).astype(np.float32)


def _thermal_background(cam, rng, yy, xx, H, W):
    if cam == 3:  # dark indoor room: cool, nearly uniform
        return np.full((H, W), 0.12, np.float32) + 0.05 * (yy / H) + rng.normal(0, 0.01)
    # outdoor passage: cool background with warm clutter (lamps, walls in the sun)
    bg = np.full((H, W), 0.22, np.float32) + 0.08 * np.sin(xx / 5.0 + rng.uniform(0, 6))
    for _ in range(int(rng.integers(1, 4))):
        cy, cxx = rng.uniform(0, H), rng.uniform(0, W)
        bg = np.maximum(bg, 0.5 * _ellipse(yy, xx, cy, cxx, rng.uniform(3, 10), rng.uniform(2, 6)))
    return bg


def _nir_background(cam, rng, yy, xx, H, W):
    """NIR reflectance of what lies behind the person (dimmed later by its
    distance from the illuminator): little detail."""
    if cam == 3:  # cam2's room: pale walls and a darker floor
        horizon = H * rng.uniform(0.7, 0.8)
        t = np.clip(yy - horizon, 0, 1)
        return rng.uniform(0.45, 0.6) * (1 - t) + 0.3 * t + 0.03 * np.sin(xx / 9.0 + rng.uniform(0, 6))
    # outdoor passage: paving, and foliage (chlorophyll reflects NIR strongly) in soft blotches
    leaves = np.clip(np.sin(xx / 7.0 + rng.uniform(0, 6)) * np.sin(yy / 9.0 + rng.uniform(0, 6)), 0, 1)
    return 0.3 + 0.35 * leaves * (yy < H * rng.uniform(0.5, 0.8))


def _sysu_camera(cam: int, ir_sensor: str) -> Camera:
    if cam in RGB_CAMERAS:
        return Camera(f"cam{cam}", _VIEW_BIAS[cam], _CAM_NOISE[cam], _CAM_BLUR[cam],
                      partial(_rgb_background, cam), light=_CAM_LIGHT[cam])
    if ir_sensor == "thermal":
        return Camera(f"cam{cam}", _VIEW_BIAS[cam], _CAM_NOISE[cam], _CAM_BLUR[cam],
                      partial(_thermal_background, cam), gain=_CAM_GAIN_IR[cam])
    return Camera(f"cam{cam}", _VIEW_BIAS[cam], _CAM_NOISE[cam], _CAM_BLUR[cam],
                  partial(_nir_background, cam), gain=_CAM_GAIN_NIR[cam])


# ----------------------------------------------------------------- the tree
def _split_sizes(cfg: SyntheticConfig) -> tuple[int, int, int]:
    """How many identities the train, val and test splits get (at least 1 val, 2 test)."""
    f = np.asarray(cfg.split_fractions, float)
    f = f / f.sum()
    n_val = max(1, int(round(f[1] * cfg.num_ids)))
    n_test = max(2, int(round(f[2] * cfg.num_ids)))
    return cfg.num_ids - n_val - n_test, n_val, n_test


def _split_ids(cfg: SyntheticConfig) -> dict[str, list[int]]:
    rng = np.random.default_rng([cfg.seed, 2])
    ids = rng.permutation(np.arange(1, cfg.num_ids + 1)).tolist()
    n_train, n_val, n_test = _split_sizes(cfg)
    if n_train < 2:
        raise ValueError(f"num_ids={cfg.num_ids} leaves fewer than 2 training ids with split_fractions={cfg.split_fractions}")
    return {"train": sorted(ids[:n_train]), "val": sorted(ids[n_train:n_train + n_val]),
            "test": sorted(ids[n_train + n_val:])}


def _cameras_of(cfg: SyntheticConfig, pid: int) -> list[int]:
    """Which cameras see ``pid``: indoor ids are seen by cams 1, 2 and 3; cams
    4 and 5 miss a few people; cam 6 sees everyone (so every id has IR) and at
    least one RGB camera always sees each id."""
    rng = np.random.default_rng([cfg.seed, pid, 3])
    cams = []
    if rng.random() < cfg.indoor_fraction:
        cams += list(INDOOR_CAMS)
    elif rng.random() < 0.5:
        cams += [3]
    cams += [c for c in (4, 5) if rng.random() < 0.95]
    if not any(c in RGB_CAMERAS for c in cams):
        cams.append(4)
    cams.append(6)
    return sorted(cams)


def plan(cfg: SyntheticConfig) -> dict:
    """The dataset's structure without rendering anything: splits, which
    cameras see whom, image counts, the identities (with their NIR
    reflectances) and the colour twins."""
    splits = _split_ids(cfg)
    ids = _identities(cfg.seed, cfg.twin_fraction, splits)
    lo, hi = cfg.images_per_camera
    counts = {}
    for pid in ids:
        rng = np.random.default_rng([cfg.seed, pid, 4])
        counts[pid] = {cam: int(rng.integers(lo, hi + 1)) for cam in _cameras_of(cfg, pid)}
    return {"splits": splits, "identities": ids, "counts": counts,
            "twins": {pid: d["twin_of"] for pid, d in ids.items() if "twin_of" in d}}


def _image_rng(cfg: SyntheticConfig, pid: int, cam: int, index: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, pid, cam, index, 5])


def render_image(cfg: SyntheticConfig, identity: dict, pid: int, cam: int, index: int) -> np.ndarray:
    """Image ``index`` (1-based) of ``pid`` in camera ``cam`` as HxWx3 uint8
    (cameras 3 and 6 through ``cfg.ir_sensor``)."""
    sensor = "rgb" if cam in RGB_CAMERAS else cfg.ir_sensor
    return _render(identity, _sysu_camera(cam, cfg.ir_sensor), sensor, _image_rng(cfg, pid, cam, index),
                   cfg.height, cfg.width)


def _as_config(config: SyntheticConfig | Mapping | None, caller: str) -> SyntheticConfig:
    if config is None:
        config = SyntheticConfig()
    elif isinstance(config, Mapping):
        config = config_from(SyntheticConfig, config, caller)
    elif not isinstance(config, SyntheticConfig):
        raise TypeError(f"{caller}: config must be a SyntheticConfig, a dict of its fields or None, "
                        f"got {type(config).__name__}")
    config.validate()
    return config


@lru_cache(maxsize=8)
def _identities_of(cfg: SyntheticConfig) -> dict[int, dict]:
    """``plan(cfg)["identities"]``, kept for repeated single-image helpers (read only)."""
    return plan(cfg)["identities"]


def _check_image(cfg: SyntheticConfig, pid: int, index: int, caller: str) -> None:
    if not 1 <= pid <= cfg.num_ids:
        raise ValueError(f"{caller}: pid must lie in 1..num_ids={cfg.num_ids}, got {pid}")
    if index < 1:
        raise ValueError(f"{caller}: index is 1-based, got {index}")


def render_sensors(config: SyntheticConfig | Mapping | None, pid: int, index: int = 1, *,
                   cam: int = 6) -> dict[str, np.ndarray]:
    """One person in one pose through the three sensors, for side-by-side
    figures: ``{"rgb", "nir", "thermal"}`` -> HxWx3 uint8.

    ``config``: a :class:`SyntheticConfig`, a dict of its fields, or ``None``
    (the defaults); its ``ir_sensor`` does not matter here. The scene (pose,
    framing) is that of image ``index`` of ``pid`` in IR camera ``cam`` (3 or
    6): ``"nir"`` and ``"thermal"`` are that image as the stand-in renders it
    with ``ir_sensor="nir"`` and ``"thermal"`` (before JPEG), and ``"rgb"`` is
    the same scene seen with the look of an RGB camera at that location
    (camera 2 for camera 3, camera 4 for camera 6).
    """
    cfg = _as_config(config, "render_sensors")
    _check_image(cfg, pid, index, "render_sensors")
    if cam not in IR_CAMERAS:
        raise ValueError(f"render_sensors: cam must be an IR camera {IR_CAMERAS}, got {cam}")
    ident = _identities_of(cfg)[pid]
    H, W = cfg.height, cfg.width
    out = {}
    for sensor in ("rgb", "nir", "thermal"):
        rng = _image_rng(cfg, pid, cam, index)
        pose = _draw_pose(ident["structure"], _VIEW_BIAS[cam], rng, H, W)
        look = _sysu_camera(_RGB_BESIDE[cam] if sensor == "rgb" else cam, sensor)
        out[sensor] = _render(ident, look, sensor, rng, H, W, pose=pose)
    return out


def region_masks(config: SyntheticConfig | Mapping | None, pid: int, cam: int, index: int) -> dict[str, np.ndarray]:
    """Which pixels of image ``index`` of ``pid`` in camera ``cam`` show what:
    HxW float masks in [0, 1] of the *visible* (not occluded) ``"upper"``
    garment (torso and sleeves), its second dye ``"upper_dye2"`` (the print),
    ``"lower"``, ``"lower_dye2"``, ``"skin"``, ``"hair"``, ``"shoes"``,
    ``"accessory"`` and the whole ``"person"``. Geometry is sensor-independent."""
    cfg = _as_config(config, "region_masks")
    _check_image(cfg, pid, index, "region_masks")
    if cam not in ALL_CAMERAS:
        raise ValueError(f"region_masks: cam must be one of {ALL_CAMERAS}, got {cam}")
    ident = _identities_of(cfg)[pid]
    pose = _draw_pose(ident["structure"], _VIEW_BIAS[cam], _image_rng(cfg, pid, cam, index), cfg.height, cfg.width)
    sc = _scene(ident["structure"], pose, cfg.height, cfg.width)
    visible, cover = {}, np.ones((cfg.height, cfg.width), np.float32)
    for name, mask in reversed(sc["layers"]):  # later layers cover earlier ones
        visible[name] = mask * cover
        cover = cover * (1 - mask)
    groups = {"upper": ("torso", "sleeve"), "lower": ("clothed_legs",), "shoes": ("shoes",),
              "skin": ("bare_legs", "forearm", "neck", "face"), "hair": ("head_back", "hair"),
              "accessory": ("acc_back", "acc_front")}
    out = {g: np.clip(sum(visible[n] for n in names), 0, 1) for g, names in groups.items()}
    out["upper_dye2"] = out["upper"] * sc["tex_up"]
    out["lower_dye2"] = out["lower"] * sc["tex_lo"]
    out["person"] = 1 - cover
    return out


# ------------------------------------------------------------ writing trees
def write_atomically(root: str | os.PathLike, key: str, write: Callable[[Path], None], what: str,
                     overwrite: bool) -> Path:
    """Write a generated dataset (``write(tmp)`` fills a temporary sibling
    folder, which must end up holding :data:`MARKER` with ``key``) and rename it
    to ``root``. If ``root`` already holds a dataset with the same key, return
    at once; one with another key is replaced only with ``overwrite``; any
    other non-empty folder is refused. ``what`` names the dataset in errors."""
    root = Path(root)
    marker = root / MARKER
    if root.exists():
        if marker.is_file():
            info = json.loads(marker.read_text())
            if info.get("key") == key:
                return root
            if not overwrite:
                raise DatasetError(f"{root} holds a synthetic dataset made with other arguments ({marker}); "
                                   "pass overwrite=True or choose another root")
            shutil.rmtree(root)
        elif any(root.iterdir()):
            raise DatasetError(f"{root} exists and is not a {what} (no {MARKER}); "
                               "refusing to write into it: choose an empty or new folder")
        else:
            root.rmdir()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        write(tmp)
        try:
            os.replace(tmp, root)
        except OSError:  # another process (a DDP rank, a parallel run) finished the same dataset first
            if not (marker.is_file() and json.loads(marker.read_text()).get("key") == key):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def cache_dir_default(cache_dir: str | os.PathLike | None) -> Path:
    """``cache_dir``, else ``$TSGAN_DATA_DIR``, else ``<repo>/runs/data``."""
    from ..utils import REPO_ROOT

    if cache_dir is None:
        cache_dir = os.environ.get("TSGAN_DATA_DIR") or (REPO_ROOT / "runs" / "data")
    return Path(cache_dir)


_D = SyntheticConfig()  # the defaults, stated once above


def make_synthetic_sysu(root: str | os.PathLike, *, num_ids: int = _D.num_ids, seed: int = _D.seed,
                        height: int = _D.height, width: int = _D.width,
                        images_per_camera: tuple[int, int] = _D.images_per_camera,
                        split_fractions: tuple[float, float, float] = _D.split_fractions,
                        indoor_fraction: float = _D.indoor_fraction, twin_fraction: float = _D.twin_fraction,
                        jpeg_quality: int = _D.jpeg_quality, ir_sensor: str = _D.ir_sensor,
                        overwrite: bool = False) -> Path:
    """Write the synthetic SYSU-MM01 stand-in under ``root`` and return ``root``.

    Writes ``root/cam1..cam6/<PPPP>/<IIII>.jpg`` and ``root/exp/{train,val,
    test}_id.txt``. With the defaults: 160 ids (96 train, 24 val, 40 test), 2-6
    images per (id, camera) at 128x64, about 3,200 images; cameras 3 and 6
    through the ``ir_sensor`` (``"nir"`` or ``"thermal"``, see the module).

    If ``root`` already holds a stand-in made with the same arguments, returns
    at once. If it holds anything else, raises :class:`DatasetError` (unless
    ``overwrite=True`` and it is a stand-in made with other arguments). The
    tree is written to a temporary sibling folder and renamed into place, so an
    interrupted call leaves no half-written dataset.
    """
    cfg = SyntheticConfig(num_ids=num_ids, seed=seed, height=height, width=width,
                          images_per_camera=tuple(images_per_camera), split_fractions=tuple(split_fractions),
                          indoor_fraction=indoor_fraction, twin_fraction=twin_fraction, jpeg_quality=jpeg_quality,
                          ir_sensor=ir_sensor)
    cfg.validate()
    return write_atomically(root, cfg.key(), partial(_write_tree, cfg), "synthetic SYSU-MM01 stand-in", overwrite)


def _write_tree(cfg: SyntheticConfig, out: Path) -> None:
    p = plan(cfg)
    for cam in ALL_CAMERAS:
        (out / f"cam{cam}").mkdir(parents=True, exist_ok=True)
    n_images = 0
    for pid, per_cam in p["counts"].items():
        ident = p["identities"][pid]
        for cam, n in per_cam.items():
            d = out / f"cam{cam}" / f"{pid:04d}"
            d.mkdir()
            for i in range(1, n + 1):
                arr = render_image(cfg, ident, pid, cam, i)
                Image.fromarray(arr).save(d / f"{i:04d}.jpg", quality=cfg.jpeg_quality)
                n_images += 1
    (out / "exp").mkdir()
    for name, ids in p["splits"].items():
        (out / "exp" / f"{name}_id.txt").write_text(",".join(str(i) for i in ids) + "\n")
    info = {"key": cfg.key(), "generator_version": GENERATOR_VERSION, "config": asdict(cfg),
            "num_images": n_images, "twins": {str(k): v for k, v in p["twins"].items()},
            "note": "Synthetic teaching stand-in in SYSU-MM01's layout; numbers on it are not SYSU-MM01 numbers."}
    (out / MARKER).write_text(json.dumps(info, indent=1, sort_keys=True))


def synthetic_sysu_root(cache_dir: str | os.PathLike | None = None, **kwargs) -> Path:
    """Generate (once) and return the stand-in in a cache folder keyed by its
    arguments (any :class:`SyntheticConfig` field, e.g. ``ir_sensor``):
    ``cache_dir/synthetic_sysu_<key>``. ``cache_dir`` defaults to
    ``$TSGAN_DATA_DIR`` or ``<repo>/runs/data``."""
    cfg = config_from(SyntheticConfig, kwargs, "synthetic_sysu_root")
    return make_synthetic_sysu(cache_dir_default(cache_dir) / f"synthetic_sysu_{cfg.key()}", **asdict(cfg))
