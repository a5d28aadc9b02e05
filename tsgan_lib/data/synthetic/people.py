"""The stand-ins' people: a persistent appearance per identity, and how it looks to each sensor.

Each person's appearance is drawn once from their id (:func:`identities`):
height and build, hair style and colour, upper and lower clothing (two dye
colours each, texture, sleeve / leg length, material), shoes and an accessory
with their materials, and the near-infrared reflectance of every dye, of
their skin and of their hair (:func:`dye_nir_reflectance`: a colour term that
is not luminance, the dye recipe, the fibre). A fraction of identities are
"colour twins" of another (same body, cut, materials and accessory; other
colours and dyes). The constants below are the materials' thermal and NIR
behaviour that the sensors (:mod:`.sensors`) paint.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

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
LUMINANCE = np.array([0.2126, 0.7152, 0.0722], np.float32)
DYED = ("upper", "upper2", "lower", "lower2", "acc")


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


def identities(seed: int, twin_fraction: float, groups: Mapping[str, list[int]],
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
