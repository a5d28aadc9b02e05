"""A procedurally generated stand-in for SYSU-MM01, in SYSU-MM01's exact layout, and the people and sensors
the other stand-ins (:mod:`tsgan_lib.data.synthetic_regdb`, :mod:`tsgan_lib.data.synthetic_llcm`) share.

SYSU-MM01 is licence-gated and cannot ship with this project, so every
notebook's default data is generated here. It is a *teaching stand-in*:
numbers measured on it are not SYSU-MM01 numbers, and must never be reported
as such. What it keeps from the real set is what the method is about:

* **Identity signal** (:mod:`.people`). Each person has a persistent appearance
  drawn once from their id: height and build, hair style and colour, upper and
  lower clothing (two dye colours each, texture, sleeve / leg length,
  material), shoes and an accessory (backpack, shoulder bag or hat) with their
  materials, and the near-infrared (NIR) reflectance of every dye, of their
  skin and of their hair.
* **A real modality gap** (:mod:`.sensors`). RGB cameras (1, 2, 4, 5) render
  colour and texture under per-camera illumination, background, viewpoint and
  pose (:mod:`.pose`), scale, blur and noise. The IR cameras (3, 6) render one
  of two sensors, chosen by ``SyntheticConfig.ir_sensor``:

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
* **The camera topology** (:mod:`.cameras`, :mod:`.layout`). Cameras 1, 2
  (indoor RGB) and 3 (IR, in camera 2's room) see only a subset of the
  identities ("indoor ids"); cameras 4, 5 (outdoor RGB) and 6 (outdoor IR) see
  nearly everyone. Every test id has images in both modalities, and splits are
  disjoint.

Files (:mod:`.tree`): ``root/cam{1..6}/<PPPP>/<IIII>.jpg`` (IR stored as 3
identical channels) and ``root/exp/{train,val,test}_id.txt`` (one
comma-separated line), exactly what :func:`tsgan_lib.data.sysu.load_sysu`
reads for the real set.

Determinism: every image is drawn from its own RNG seeded by
``(seed, pid, camera, index)``, so the same arguments give byte-identical
files. :func:`make_synthetic_sysu` writes into a temporary folder and renames
it into place, and records its arguments in ``root/SYNTHETIC.json``; a second
call with the same arguments returns at once. :func:`synthetic_sysu_root`
picks a cache folder keyed by the arguments. :func:`render_sensors` renders one
person in one pose through the three sensors side by side, and
:func:`region_masks` says which pixels of an image show which body region.

The package, one idea per module: :mod:`.config` (the generator's settings),
:mod:`.people`, :mod:`.pose`, :mod:`.sensors`, :mod:`.cameras`, :mod:`.layout`
(splits, who is seen where, images on demand) and :mod:`.tree` (writing it, once).
"""

from .config import MARKER, SyntheticConfig
from .layout import plan, region_masks, render_image, render_sensors
from .people import LUMINANCE
from .tree import make_synthetic_sysu, synthetic_sysu_root

__all__ = ["MARKER", "SyntheticConfig", "plan", "region_masks", "render_image", "render_sensors", "LUMINANCE",
           "make_synthetic_sysu", "synthetic_sysu_root"]
