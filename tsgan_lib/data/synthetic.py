"""A procedurally generated stand-in for SYSU-MM01, in SYSU-MM01's exact layout.

SYSU-MM01 is licence-gated and cannot ship with this project, so every
notebook's default data is generated here. It is a *teaching stand-in*:
numbers measured on it are not SYSU-MM01 numbers, and must never be reported
as such. What it keeps from the real set is what the method is about:

* **Identity signal.** Each person has a persistent appearance drawn once from
  their id: height and build, hair style and colour, upper and lower clothing
  (colour, texture, sleeve / leg length, material) and an accessory
  (backpack, shoulder bag or hat).
* **A real modality gap.** RGB cameras (1, 2, 4, 5) render colour and texture
  under per-camera illumination, background, viewpoint and pose, scale, blur
  and noise. IR cameras (3, 6) render *temperature*: exposed skin is hot,
  clothing warm with a material-dependent emissivity (its texture shows only
  as an emissivity pattern), hair lukewarm, accessories and shoes cold. Colour
  is invisible in IR, so a fraction of identities are generated as
  "colour twins" of another identity (same body, cut, materials and
  accessory, other colours): they are separable in RGB and collide in IR, as
  people in same-cut clothes of different colours do in real thermal images.
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
picks a cache folder keyed by the arguments.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from .records import DatasetError

GENERATOR_VERSION = 1
MARKER = "SYNTHETIC.json"
RGB_CAMS = (1, 2, 4, 5)
IR_CAMS = (3, 6)
INDOOR_CAMS = (1, 2, 3)

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


@dataclass(frozen=True)
class SyntheticConfig:
    """Arguments of the generator (they form the cache key)."""

    num_ids: int = 160
    seed: int = 0
    height: int = 128
    width: int = 64
    images_per_camera: tuple[int, int] = (2, 6)
    split_fractions: tuple[float, float, float] = (0.6, 0.15, 0.25)
    indoor_fraction: float = 0.6
    twin_fraction: float = 0.2
    jpeg_quality: int = 90

    def validate(self) -> None:
        if self.num_ids < 6:
            raise ValueError(f"num_ids must be at least 6 (two ids per split), got {self.num_ids}")
        if self.height < 32 or self.width < 16:
            raise ValueError(f"height/width must be at least 32x16, got {self.height}x{self.width}")
        lo, hi = self.images_per_camera
        if not 1 <= lo <= hi:
            raise ValueError(f"images_per_camera must be (lo, hi) with 1 <= lo <= hi, got {self.images_per_camera}")
        if len(self.split_fractions) != 3 or min(self.split_fractions) <= 0:
            raise ValueError(f"split_fractions must be three positive numbers (train, val, test), got {self.split_fractions}")
        for name in ("indoor_fraction", "twin_fraction"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {v}")

    def key(self) -> str:
        payload = json.dumps({"version": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


# ---------------------------------------------------------------- identities
def _identity(cfg: SyntheticConfig, pid: int) -> dict:
    """The persistent appearance of person ``pid`` (colour and structure)."""
    rng = np.random.default_rng([cfg.seed, pid, 0])
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


def _identities(cfg: SyntheticConfig, splits: dict[str, list[int]]) -> dict[int, dict]:
    """All identities; within each split, a ``twin_fraction`` of ids copy the
    structure (not the colours) of an earlier id of the same split."""
    ids = {}
    rng = np.random.default_rng([cfg.seed, 1])
    for split_ids in splits.values():
        for i, pid in enumerate(split_ids):
            ident = _identity(cfg, pid)
            if i > 0 and rng.random() < cfg.twin_fraction:
                src = split_ids[int(rng.integers(i))]
                ident["structure"] = dict(ids[src]["structure"])
                ident["twin_of"] = src
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


def _render(ident: dict, cam: int, rng: np.random.Generator, cfg: SyntheticConfig) -> np.ndarray:
    """Render one image of ``ident`` seen by camera ``cam``: HxWx3 uint8."""
    H, W = cfg.height, cfg.width
    ir = cam in IR_CAMS
    s = ident["structure"]
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)

    # camera framing: detector boxes are loose and jittered
    hp = H * s["height"] * rng.uniform(0.88, 1.0)
    top = (H - hp) * rng.uniform(0.2, 0.8)
    cx = W / 2 + rng.normal(0, 0.04 * W)
    view = ("front", "back", "side")[int(rng.choice(3, p=_VIEW_BIAS[cam]))]
    phase = rng.uniform(-1, 1)
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

    layers = [  # (mask, rgb colour map, thermal value map), painted in order
        ("acc_back", acc_back),
        ("bare_legs", bare_legs), ("clothed_legs", clothed_legs), ("shoes", shoes),
        ("torso", m["torso"]), ("sleeve", sleeve), ("forearm", forearm), ("neck", m["neck"]),
        ("face", face), ("head_back", head_back), ("hair", hair), ("acc_front", acc_front),
    ]
    if ir:
        img = _ir_background(cam, rng, yy, xx, H, W)
        lo_t, lo_e = MATERIALS[s["lower_mat"]]
        up_t, up_e = MATERIALS[s["upper_mat"]]
        body_heat = rng.uniform(0.9, 1.05)
        values = {
            "acc_back": T_COLD, "bare_legs": T_SKIN, "clothed_legs": lo_t + lo_e * (tex_lo - 0.5),
            "shoes": T_SHOE, "torso": up_t + up_e * (tex_up - 0.5), "sleeve": up_t + up_e * (tex_up - 0.5),
            "forearm": T_SKIN, "neck": T_SKIN, "face": T_SKIN, "head_back": T_HAIR, "hair": T_HAIR,
            "acc_front": T_COLD,
        }
        for name, mask in layers:
            v = values[name] * (body_heat if name not in ("acc_back", "acc_front", "shoes") else 1.0)
            img = img * (1 - mask) + mask * v
        img = _CAM_GAIN_IR[cam] * img + rng.normal(0, 0.02) + rng.normal(0, _CAM_NOISE[cam], img.shape)
        img = np.repeat(img[..., None], 3, axis=2)  # stored as 3 identical channels
    else:
        img = _rgb_background(cam, rng, yy, xx, H, W)
        def mix(c1, c2, t):
            return c1[None, None, :] * (1 - t[..., None]) + c2[None, None, :] * t[..., None]
        up = mix(ident["upper"], ident["upper2"], tex_up)
        lo = mix(ident["lower"], ident["lower2"], tex_lo)
        skin, hairc = ident["skin"], ident["hair"]
        colours = {
            "acc_back": ident["acc"], "bare_legs": skin, "clothed_legs": lo, "shoes": ident["shoes"],
            "torso": up, "sleeve": up, "forearm": skin, "neck": skin, "face": skin,
            "head_back": hairc, "hair": hairc, "acc_front": ident["acc"],
        }
        for name, mask in layers:
            c = colours[name]
            c = c if c.ndim == 3 else c[None, None, :]
            img = img * (1 - mask[..., None]) + mask[..., None] * c
        # illumination: camera colour cast, brightness jitter, a soft vertical shading
        light = _CAM_LIGHT[cam] * rng.uniform(0.8, 1.15)
        shade = 1.0 - 0.25 * rng.uniform(0, 1) * (yy / H)[..., None]
        img = img * light[None, None, :] * shade + rng.normal(0, _CAM_NOISE[cam], img.shape)
    out = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    sigma = _CAM_BLUR[cam] * rng.uniform(0.7, 1.3)
    return np.asarray(out.filter(ImageFilter.GaussianBlur(sigma)))


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


# Per-camera appearance. cam1/cam2: bright indoor rooms; cam4 gate, cam5 garden
# (outdoor RGB); cam3: dark IR room (cam2's); cam6: cluttered outdoor IR passage.
_VIEW_BIAS = {1: (0.5, 0.3, 0.2), 2: (0.3, 0.3, 0.4), 3: (0.3, 0.3, 0.4),
              4: (0.4, 0.4, 0.2), 5: (0.2, 0.4, 0.4), 6: (0.35, 0.35, 0.3)}
_CAM_LIGHT = {1: np.array([1.10, 1.00, 0.85], np.float32), 2: np.array([0.95, 1.00, 1.05], np.float32),
              4: np.array([0.80, 0.85, 0.95], np.float32), 5: np.array([0.95, 1.05, 0.85], np.float32)}
_CAM_GAIN_IR = {3: 0.85, 6: 1.0}
_CAM_NOISE = {1: 0.015, 2: 0.02, 3: 0.05, 4: 0.025, 5: 0.03, 6: 0.04}
_CAM_BLUR = {1: 0.5, 2: 0.6, 3: 1.1, 4: 0.8, 5: 0.9, 6: 1.3}


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


def _ir_background(cam, rng, yy, xx, H, W):
    if cam == 3:  # dark indoor room: cool, nearly uniform
        return np.full((H, W), 0.12, np.float32) + 0.05 * (yy / H) + rng.normal(0, 0.01)
    # outdoor passage: cool background with warm clutter (lamps, walls in the sun)
    bg = np.full((H, W), 0.22, np.float32) + 0.08 * np.sin(xx / 5.0 + rng.uniform(0, 6))
    for _ in range(int(rng.integers(1, 4))):
        cy, cxx = rng.uniform(0, H), rng.uniform(0, W)
        bg = np.maximum(bg, 0.5 * _ellipse(yy, xx, cy, cxx, rng.uniform(3, 10), rng.uniform(2, 6)))
    return bg


# ----------------------------------------------------------------- the tree
def _split_ids(cfg: SyntheticConfig) -> dict[str, list[int]]:
    rng = np.random.default_rng([cfg.seed, 2])
    ids = rng.permutation(np.arange(1, cfg.num_ids + 1)).tolist()
    f = np.asarray(cfg.split_fractions, float)
    f = f / f.sum()
    n_val = max(1, int(round(f[1] * cfg.num_ids)))
    n_test = max(2, int(round(f[2] * cfg.num_ids)))
    n_train = cfg.num_ids - n_val - n_test
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
        cams += [1, 2, 3]
    elif rng.random() < 0.5:
        cams += [3]
    cams += [c for c in (4, 5) if rng.random() < 0.95]
    if not any(c in RGB_CAMS for c in cams):
        cams.append(4)
    cams.append(6)
    return sorted(cams)


def plan(cfg: SyntheticConfig) -> dict:
    """The dataset's structure without rendering anything: splits, which
    cameras see whom, image counts, and the colour twins."""
    splits = _split_ids(cfg)
    ids = _identities(cfg, splits)
    lo, hi = cfg.images_per_camera
    counts = {}
    for pid in ids:
        rng = np.random.default_rng([cfg.seed, pid, 4])
        counts[pid] = {cam: int(rng.integers(lo, hi + 1)) for cam in _cameras_of(cfg, pid)}
    return {"splits": splits, "identities": ids, "counts": counts,
            "twins": {pid: d["twin_of"] for pid, d in ids.items() if "twin_of" in d}}


def render_image(cfg: SyntheticConfig, identity: dict, pid: int, cam: int, index: int) -> np.ndarray:
    """Image ``index`` (1-based) of ``pid`` in camera ``cam`` as HxWx3 uint8."""
    return _render(identity, cam, np.random.default_rng([cfg.seed, pid, cam, index, 5]), cfg)


def make_synthetic_sysu(root: str | os.PathLike, *, num_ids: int = 160, seed: int = 0, height: int = 128,
                        width: int = 64, images_per_camera: tuple[int, int] = (2, 6),
                        split_fractions: tuple[float, float, float] = (0.6, 0.15, 0.25),
                        indoor_fraction: float = 0.6, twin_fraction: float = 0.2,
                        jpeg_quality: int = 90, overwrite: bool = False) -> Path:
    """Write the synthetic SYSU-MM01 stand-in under ``root`` and return ``root``.

    Writes ``root/cam1..cam6/<PPPP>/<IIII>.jpg`` and ``root/exp/{train,val,
    test}_id.txt``. With the defaults: 160 ids (96 train, 24 val, 40 test), 2-6
    images per (id, camera) at 128x64, about 3,300 images.

    If ``root`` already holds a stand-in made with the same arguments, returns
    at once. If it holds anything else, raises :class:`DatasetError` (unless
    ``overwrite=True`` and it is a stand-in made with other arguments). The
    tree is written to a temporary sibling folder and renamed into place, so an
    interrupted call leaves no half-written dataset.
    """
    cfg = SyntheticConfig(num_ids=num_ids, seed=seed, height=height, width=width,
                          images_per_camera=tuple(images_per_camera), split_fractions=tuple(split_fractions),
                          indoor_fraction=indoor_fraction, twin_fraction=twin_fraction, jpeg_quality=jpeg_quality)
    cfg.validate()
    root = Path(root)
    marker = root / MARKER
    if root.exists():
        if marker.is_file():
            info = json.loads(marker.read_text())
            if info.get("key") == cfg.key():
                return root
            if not overwrite:
                raise DatasetError(f"{root} holds a synthetic dataset made with other arguments ({marker}); "
                                   "pass overwrite=True or choose another root")
            shutil.rmtree(root)
        elif any(root.iterdir()):
            raise DatasetError(f"{root} exists and is not a synthetic SYSU-MM01 stand-in (no {MARKER}); "
                               "refusing to write into it: choose an empty or new folder")
        else:
            root.rmdir()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        _write_tree(cfg, tmp)
        os.replace(tmp, root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _write_tree(cfg: SyntheticConfig, out: Path) -> None:
    p = plan(cfg)
    for cam in range(1, 7):
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
    arguments: ``cache_dir/synthetic_sysu_<key>``. ``cache_dir`` defaults to
    ``$TSGAN_DATA_DIR`` or ``<repo>/runs/data``."""
    from ..utils import REPO_ROOT

    if cache_dir is None:
        cache_dir = os.environ.get("TSGAN_DATA_DIR") or (REPO_ROOT / "runs" / "data")
    fields = {k: v for k, v in kwargs.items() if k in SyntheticConfig.__dataclass_fields__}
    unknown = set(kwargs) - set(fields)
    if unknown:
        raise TypeError(f"synthetic_sysu_root got unknown arguments {sorted(unknown)}; "
                        f"expected some of {sorted(SyntheticConfig.__dataclass_fields__)}")
    cfg = SyntheticConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    return make_synthetic_sysu(Path(cache_dir) / f"synthetic_sysu_{cfg.key()}", **asdict(cfg))
