"""SYSU-MM01's six cameras in the stand-in: where they stand, what lies behind the person, how they see.

Cameras 1 and 2 are bright indoor rooms, 4 (a gate) and 5 (a garden) outdoor
RGB cameras; the IR cameras are 3 (camera 2's dark room) and 6 (a cluttered
outdoor passage), rendered through near-infrared or thermal sensors
(:func:`sysu_camera`). :data:`RGB_BESIDE` names the RGB camera whose look
shows an IR camera's scene in colour.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..sysu import RGB_CAMERAS
from .pose import ellipse
from .sensors import Camera

INDOOR_CAMS = (1, 2, 3)
# Per-camera appearance. cam1/cam2: bright indoor rooms; cam4 gate, cam5 garden
# (outdoor RGB); cam3: dark IR room (cam2's); cam6: cluttered outdoor IR passage.
VIEW_BIAS = {1: (0.5, 0.3, 0.2), 2: (0.3, 0.3, 0.4), 3: (0.3, 0.3, 0.4),
             4: (0.4, 0.4, 0.2), 5: (0.2, 0.4, 0.4), 6: (0.35, 0.35, 0.3)}
_CAM_LIGHT = {1: (1.10, 1.00, 0.85), 2: (0.95, 1.00, 1.05), 4: (0.80, 0.85, 0.95), 5: (0.95, 1.05, 0.85)}
_CAM_GAIN_IR = {3: 0.85, 6: 1.0}   # thermal
_CAM_GAIN_NIR = {3: 1.9, 6: 1.8}   # NIR: exposure at the reference distance
_CAM_NOISE = {1: 0.015, 2: 0.02, 3: 0.05, 4: 0.025, 5: 0.03, 6: 0.04}
_CAM_BLUR = {1: 0.5, 2: 0.6, 3: 1.1, 4: 0.8, 5: 0.9, 6: 1.3}
# the RGB camera whose look render_sensors uses for an IR camera's scene
RGB_BESIDE = {3: 2, 6: 4}


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
        bg = np.maximum(bg, 0.5 * ellipse(yy, xx, cy, cxx, rng.uniform(3, 10), rng.uniform(2, 6)))
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


def sysu_camera(cam: int, ir_sensor: str) -> Camera:
    if cam in RGB_CAMERAS:
        return Camera(f"cam{cam}", VIEW_BIAS[cam], _CAM_NOISE[cam], _CAM_BLUR[cam],
                      partial(_rgb_background, cam), light=_CAM_LIGHT[cam])
    if ir_sensor == "thermal":
        return Camera(f"cam{cam}", VIEW_BIAS[cam], _CAM_NOISE[cam], _CAM_BLUR[cam],
                      partial(_thermal_background, cam), gain=_CAM_GAIN_IR[cam])
    return Camera(f"cam{cam}", VIEW_BIAS[cam], _CAM_NOISE[cam], _CAM_BLUR[cam],
                  partial(_nir_background, cam), gain=_CAM_GAIN_NIR[cam])
