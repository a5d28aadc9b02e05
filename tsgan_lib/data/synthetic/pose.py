"""A person's pose and silhouette in one image: framing, view, walking phase, and the masks of every body region.

:func:`draw_pose` draws the framing (loose, jittered detector boxes), the view
(front, back or side, by a camera's view statistics) and the walking phase;
:func:`scene` turns an identity's structure and a pose into the layer masks
that every sensor paints, in painting order (:data:`LAYERS`), and the texture
maps of the garments. No randomness after the pose.
"""

from __future__ import annotations

import numpy as np

def ellipse(yy, xx, cy, cx, ry, rx):
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
    m["shoe_l"] = ellipse(yy, xx, foot - 0.02 * u, cx - leg_dx - stride * u, 0.022 * u, leg_hw * 1.3)
    m["shoe_r"] = ellipse(yy, xx, foot - 0.02 * u, cx + leg_dx + stride * u, 0.022 * u, leg_hw * 1.3)
    # torso: a rounded box from the shoulders to the hips
    sh = top + 0.14 * u
    m["torso"] = np.clip((torso_hw - np.abs(xx - cx)) * 1.5 + 0.5, 0, 1) * np.clip(np.minimum(yy - sh, hip + 0.02 * u - yy) + 0.5, 0, 1)
    m["neck"] = _strip(yy, xx, top + 0.12 * u, sh + 0.01 * u, cx, cx, 0.022 * u)
    arm_x = torso_hw + 0.028 * u
    arm_end = top + 0.50 * u
    m["arm_l"] = _strip(yy, xx, sh + 0.01 * u, arm_end, cx - arm_x, cx - arm_x - swing * u, 0.028 * u)
    m["arm_r"] = _strip(yy, xx, sh + 0.01 * u, arm_end, cx + arm_x, cx + arm_x + swing * u, 0.028 * u)
    m["hand_l"] = ellipse(yy, xx, arm_end, cx - arm_x - swing * u, 0.025 * u, 0.022 * u)
    m["hand_r"] = ellipse(yy, xx, arm_end, cx + arm_x + swing * u, 0.025 * u, 0.022 * u)
    m["head"] = ellipse(yy, xx, head_c, cx, head_ry, head_rx)
    m["geometry"] = {"sh": sh, "hip": hip, "foot": foot, "arm_end": arm_end, "torso_hw": torso_hw,
                     "head_c": head_c, "head_ry": head_ry, "head_rx": head_rx, "u": u}
    return m


def draw_pose(s: dict, view_bias, rng: np.random.Generator, H: int, W: int) -> dict:
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


def scene(s: dict, pose: dict, H: int, W: int) -> dict:
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
    cap = ellipse(yy, xx, hc - 0.25 * ry, cx, ry * 0.85, rx * 1.08) * (yy < hc - (0.1 if view != "back" else -1.0) * ry)
    if view == "back":
        cap = np.maximum(cap, ellipse(yy, xx, hc, cx, ry * 1.02, rx * 1.05))
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
        bag = ellipse(yy, xx, g["hip"] - 0.01 * u, cx + d * (thw + 0.02 * u), 0.06 * u, 0.05 * u)
        strap = _strip(yy, xx, g["sh"], g["hip"] - 0.05 * u, cx - d * 0.7 * thw, cx + d * thw, 0.01 * u)
        return z, np.clip(bag + strap, 0, 1)
    if acc == "hat":
        hat = ellipse(yy, xx, g["head_c"] - 0.7 * g["head_ry"], cx, 0.45 * g["head_ry"], 1.35 * g["head_rx"])
        return z, hat
    return z, z
