"""The stand-ins' sensors: how a camera turns a scene into an image, in colour, near-infrared or thermal.

- :func:`paint_rgb` -- colour under the camera's light;
- :func:`paint_nir` -- the reflected light of an active near-infrared
  illuminator: each surface's NIR reflectance (:mod:`.people`), brightness
  falling with the square of the distance, a centre-bright beam, coaxial
  shading, strong signal-dependent noise;
- :func:`paint_thermal` -- temperature (far infrared): skin hot, clothing warm
  with its material's emissivity pattern, accessories and shoes cold;
- :func:`render` -- one image: a pose (:mod:`.pose`), a sensor's painting, the
  camera's blur, as HxWx3 uint8 (IR as three identical channels).

A :class:`Camera` holds how one camera sees (viewpoint statistics, background,
noise, blur, its light or gain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .people import MATERIALS, NIR_SHEEN, T_COLD, T_HAIR, T_SHOE, T_SKIN
from .pose import draw_pose, scene

NIR_DISTANCE = (1.0, 1.6)               # person distance / the exposure's reference distance
NIR_BEHIND = (1.0, 3.0)                 # how much further the background is
NIR_SHOT_NOISE = 0.004                  # variance per unit signal (plus the camera's read noise)


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


def paint_rgb(ident: dict, sc: dict, cam: Camera, rng: np.random.Generator) -> np.ndarray:
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


def paint_thermal(ident: dict, sc: dict, cam: Camera, rng: np.random.Generator) -> np.ndarray:
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


def paint_nir(ident: dict, sc: dict, cam: Camera, rng: np.random.Generator) -> np.ndarray:
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


PAINTERS = {"rgb": paint_rgb, "thermal": paint_thermal, "nir": paint_nir}


def render(ident: dict, cam: Camera, sensor: str, rng: np.random.Generator, H: int, W: int,
           pose: dict | None = None) -> np.ndarray:
    """Render one image of ``ident`` through ``cam`` with ``sensor`` ("rgb",
    "nir" or "thermal"): HxWx3 uint8 (IR: 3 identical channels). ``pose``:
    a pose drawn beforehand (co-located cameras), else drawn from ``rng``."""
    if pose is None:
        pose = draw_pose(ident["structure"], cam.view_bias, rng, H, W)
    sc = scene(ident["structure"], pose, H, W)
    img = PAINTERS[sensor](ident, sc, cam, rng)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)  # stored as 3 identical channels
    out = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    sigma = cam.blur * rng.uniform(0.7, 1.3)
    return np.asarray(out.filter(ImageFilter.GaussianBlur(sigma)))
