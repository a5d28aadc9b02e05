"""The paper's Fig. 3 as a figure: the networks, the images between them, every loss and its optimiser.

:func:`plot_tsgan_diagram` draws the networks of TS-GAN (G_I, G_R, D_I, D_R,
the student FE_S -> LE_S and the frozen teacher FE_T), the images between them
(X_R, X_I, X_I'), every loss with its equation and the optimiser it feeds
(O_G, O_B, O_D); what a Table II variant does not use is faded. It returns the
Figure and writes nothing (notebook 04).
"""

from __future__ import annotations

from tsgan_lib.train.steps import table2_config

#: Colours of Fig. 3's dotted rectangles (the paper's): the GAN green, the student red, the teacher blue.
GAN_COLOR, STUDENT_COLOR, TEACHER_COLOR = "#2e8b57", "#c0392b", "#2c6fbb"
LOSS_COLOR, OPTIM_COLOR, IMAGE_COLOR = "#f2f2f2", "#fbe7a1", "#ffffff"


def _diagram_flags(variant: str | None) -> dict[str, bool]:
    s = table2_config(variant or "jd_all_ts")
    return {"gan": s.use_gan, "joint": s.use_gan and s.joint_disc,
            "teacher": s.ts.use_cross_domain or s.ts.use_same_domain or (s.use_gan and s.joint_disc),
            "cd": s.use_gan and s.ts.use_cross_domain, "same": s.ts.use_same_domain}


def plot_tsgan_diagram(variant: str | None = None, *, figsize: tuple[float, float] = (12.0, 7.2),
                       fontsize: float = 9.0):
    """The paper's Fig. 3 as boxes and arrows.

    Images (white): X_R, X_I and X_I' = G_I(X_R) (whose detached copy feeds
    the student and the teacher). Networks: G_I, G_R, D_I (joint: it judges
    an IR image *with* a layer-3 feature map), D_R (green rectangle); the
    student FE_S -> f_map,S -> LE_S -> GAP (V) -> FC (F) (red); the frozen
    teacher FE_T -> f_map,T (blue). Losses (grey) with their equations: L_G
    (Eq. 1, 6, 7), L_ReID (Eq. 8-12), L_TS (Eq. 13-16), L_D (Eq. 2-5); each
    feeds one optimiser (yellow): O_G, O_B, O_D. Dashed: a detached tensor
    (no gradient flows back along it).

    ``variant``: a Table II row (``"backbone"``, ``"od_single_ts"``,
    ``"od_all_ts"``, ``"jd_all_ts"``; ``None`` = the full model); what the row
    does not use is faded. Returns the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    on = _diagram_flags(variant)
    gan, joint, teacher = on["gan"], on["joint"], on["teacher"]
    ts = on["cd"] or on["same"]
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(0, 21)
    ax.set_ylim(0.3, 12.4)
    ax.axis("off")
    boxes: dict[str, tuple[float, float, float, float]] = {}
    faded = 0.18

    def box(name, x, y, text, *, w=2.2, h=1.0, color=IMAGE_COLOR, used=True, bold=False, dashed=False):
        boxes[name] = (x, y, w, h)
        alpha = 1.0 if used else faded
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05,rounding_size=0.15",
                                    fc=color, ec="0.25", lw=1.3, alpha=alpha, zorder=2,
                                    ls=(0, (3, 2)) if dashed else "-"))
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3, alpha=alpha,
                fontweight="bold" if bold else "normal")

    def anchor(name, side):
        x, y, w, h = boxes[name]
        if isinstance(side, float):
            return (x - w / 2 + side * w, y - h / 2 - 0.05)
        return {"l": (x - w / 2 - 0.05, y), "r": (x + w / 2 + 0.05, y), "t": (x, y + h / 2 + 0.05),
                "b": (x, y - h / 2 - 0.05), "tl": (x - w / 4, y + h / 2 + 0.05), "tr": (x + w / 4, y + h / 2 + 0.05),
                "bl": (x - w / 4, y - h / 2 - 0.05), "br": (x + w / 4, y - h / 2 - 0.05)}[side]

    def arrow(a, sa, b, sb, *, label=None, dashed=False, used=True, rad=0.0, lpos=0.5, loff=(0.0, 0.0)):
        """From box ``a`` to box ``b``; a side is "l", "r", "t", "b", a corner-ish
        "tl", "tr", "bl", "br", or a fraction (0..1) along the box's bottom edge."""
        p, q = anchor(a, sa), anchor(b, sb)
        alpha = 1.0 if used else faded
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=11, lw=1.1, color="0.2", alpha=alpha,
                                     linestyle=(0, (4, 3)) if dashed else "-",
                                     connectionstyle=f"arc3,rad={rad}", zorder=1))
        if label:
            mx, my = p[0] + lpos * (q[0] - p[0]) + loff[0], p[1] + lpos * (q[1] - p[1]) + loff[1]
            ax.text(mx, my, label, ha="center", va="center", fontsize=fontsize - 0.5, color="0.15", alpha=alpha,
                    zorder=4, bbox={"fc": "white", "ec": "none", "alpha": 0.85 * alpha, "pad": 0.6})

    def region(x0, y0, x1, y1, color, label, used=True):
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=color, lw=1.6, ls=(0, (3, 3)),
                               alpha=1.0 if used else faded, zorder=0))
        ax.text(x0 + 0.12, y1 - 0.12, label, ha="left", va="top", fontsize=fontsize, color=color,
                fontweight="bold", alpha=1.0 if used else faded)

    region(2.9, 7.75, 13.0, 12.2, GAN_COLOR, "RGB-IR image generation (CycleGAN)", gan)
    region(2.9, 4.75, 14.95, 7.4, STUDENT_COLOR, "Student ReID backbone (trained)")
    region(2.9, 0.45, 9.4, 3.85, TEACHER_COLOR, "IR Teacher (pretrained, frozen)", teacher)

    # images (the left column) and the generated one
    box("XR", 1.2, 9.6, "X_R\nreal RGB", w=1.8)
    box("XIc", 1.2, 6.5, "X_I'\n(detached)", w=1.8, dashed=True, used=gan)
    box("XI", 1.2, 3.0, "X_I\nreal IR", w=1.8)
    box("XIf", 7.6, 10.9, "X_I' = G_I(X_R)\nfake IR", w=2.5, used=gan)
    # the generation module
    box("GI", 4.5, 10.9, "G_I\nRGB → IR", color="#d8efe0", used=gan)
    box("GR", 4.5, 8.6, "G_R\nIR → RGB", color="#d8efe0", used=gan)
    box("DR", 7.6, 8.6, "D_R: X_R\nvs G_R(X_I)", color="#d8efe0", used=gan)
    box("DI", 11.1, 10.9, "D_I " + ("(joint)\nIR image + f_map" if joint else "(ordinary)\nIR image only"),
        w=2.8, color="#d8efe0", used=gan, bold=True)
    # the student
    box("FES", 5.0, 6.0, "FE_S\nconv1 + layers 1-3", w=2.6, color="#f6d5d1")
    box("fmS", 7.6, 6.0, "f_map,S", w=1.4, h=0.8, color="#f6d5d1")
    box("LES", 10.1, 6.0, "LE_S\nlayer 4", w=1.4, color="#f6d5d1")
    box("V", 11.95, 6.0, "GAP → V\n(test feature)", w=1.7, color="#f6d5d1")
    box("F", 13.85, 6.0, "FC → F\n(logits)", w=1.4, color="#f6d5d1")
    # the teacher
    box("FET", 5.0, 2.2, "FE_T (frozen)\nconv1 + layers 1-3", w=2.6, color="#d6e4f5", used=teacher)
    box("fmT", 7.9, 2.2, "f_map,T", w=1.4, h=0.8, color="#d6e4f5", used=teacher)
    # losses and optimisers
    box("LG", 16.7, 10.9, "L_G (Eq. 7)\n= L_G^adv (Eq. 1)\n+ ω·L_cyc (Eq. 6)", w=2.6, h=1.35, color=LOSS_COLOR,
        used=gan)
    box("LD", 16.7, 8.6, "L_D (Eq. 2-5)\nreal vs fake\n" + ("(the set M, Eq. 5)" if joint else "(X_I vs X_I')"),
        w=2.6, h=1.35, color=LOSS_COLOR, used=gan)
    box("LR", 16.7, 6.0, "L_ReID (Eq. 8)\nID (9-10), Tri (11)" + ("\nGAN (12)" if joint else ""), w=2.4, h=1.35,
        color=LOSS_COLOR)
    parts = [t for t, use in (("CD (15)", on["cd"]), ("RealIR (13)", on["same"]), ("FakeIR (14)", on["same"] and gan))
             if use]
    box("LT", 12.9, 2.2, "L_TS (Eq. 16)\n" + (", ".join(parts) if parts else "Eq. 13-15"), w=3.9, h=1.2,
        color=LOSS_COLOR, used=ts)
    box("OG", 19.7, 10.9, "O_G\nupdates\nG_I, G_R", w=1.6, h=1.35, color=OPTIM_COLOR, used=gan)
    box("OD", 19.7, 8.6, "O_D\nupdates\nD_I, D_R", w=1.6, h=1.35, color=OPTIM_COLOR, used=gan)
    box("OB", 19.7, 4.3, "O_B\nupdates\nFE_S, LE_S", w=1.6, h=1.35, color=OPTIM_COLOR)

    # generation
    arrow("XR", "r", "GI", "l", used=gan, rad=-0.1)
    arrow("GI", "r", "XIf", "l", used=gan)
    arrow("XIf", "bl", "GR", "tr", label="cycle (Eq. 6)", used=gan, lpos=0.45)
    arrow("XI", 0.9, "GR", "l", used=gan, rad=-0.12)
    arrow("GR", "r", "DR", "l", used=gan)
    arrow("XIf", "r", "DI", "l", used=gan)
    arrow("DI", "r", "LG", "l", label="Eq. 1", used=gan, loff=(0.0, 0.22))
    arrow("DR", "r", "LD", "l", label="D_R's terms", used=gan, lpos=0.8)
    arrow("DI", "br", "LD", "t", label="Eq. 3-5", used=gan, rad=-0.15, lpos=0.55, loff=(0.1, 0.15))
    # the student
    arrow("XR", "br", "FES", "tl", rad=0.05)
    arrow("XIc", "r", "FES", "l", dashed=True, used=gan)
    arrow("XI", "tr", "FES", "bl", rad=-0.1)
    arrow("FES", "r", "fmS", "l")
    arrow("fmS", "r", "LES", "l")
    arrow("LES", "r", "V", "l")
    arrow("V", "r", "F", "l")
    arrow("F", "r", "LR", "l")
    arrow("V", "b", "LR", "b", label="triplet", rad=0.3, lpos=0.5, loff=(0.0, -0.62))
    arrow("fmS", "tr", "DI", 0.62, label="fake set M\n(Eq. 5)", used=joint, lpos=0.3, loff=(0.55, 0.0))
    arrow("DI", 0.85, "LR", "tl", label="Eq. 12", used=joint, rad=0.1, lpos=0.6, loff=(0.15, 0.1))
    # the teacher
    arrow("XI", "r", "FET", "l", used=teacher)
    arrow("XIc", "br", "FET", "tl", dashed=True, used=teacher and gan)
    arrow("FET", "r", "fmT", "l", used=teacher)
    arrow("fmT", "t", "DI", 0.15, label="real pairs\n(X_I, f_map,T)", used=joint, lpos=0.12, loff=(1.0, 0.0))
    arrow("fmT", "r", "LT", "l", label="targets", used=ts, loff=(0.0, 0.2))
    arrow("fmS", "br", "LT", "tl", used=ts, rad=0.1)
    # optimisers
    arrow("LG", "r", "OG", "l", used=gan)
    arrow("LD", "r", "OD", "l", used=gan)
    arrow("LR", "r", "OB", "t", rad=-0.3)
    arrow("LT", "r", "OB", "l", used=ts, rad=0.15)
    name = "the full model" if variant in (None, "jd_all_ts") else f"variant {variant}"
    ax.set_title(f"TS-GAN (the paper's Fig. 3), {name}: networks, losses and optimisers"
                 + ("; faded: not used by this variant" if not all(on.values()) else ""), fontsize=fontsize + 2)
    fig.tight_layout()
    return fig
