"""Notebooks 02 and 03 told: their presets, tables, figures and the sentences generated from the numbers."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from tsgan_lib.data import build_transform  # noqa: E402
from tsgan_lib.data.config import data_tag  # noqa: E402
from tsgan_lib.data.records import Record  # noqa: E402
from tsgan_lib.files import NetworkRecord, network_arch, save_network  # noqa: E402
from tsgan_lib.models import CycleGAN, CycleGANConfig, reid_to_unit  # noqa: E402
from tsgan_lib.models.discriminator import DiscriminatorConfig  # noqa: E402
from tsgan_lib.models.generator import GeneratorConfig  # noqa: E402
from tsgan_lib.report.gan_story import (cd_distances, cd_text, chroma, departures, departures_table,  # noqa: E402
                                        departures_text, first_image, l1_per_image, layer_shapes, layout_corr,
                                        load_fitting_cyclegan, luma, networks_table, pair_dist, param_count,
                                        reconstruction_measures, reconstruction_table, reconstruction_text,
                                        shared_test_ids, teacher_note, translate, translation_with_errors,
                                        ts_maps_figure)
from tsgan_lib.train import resolve_config  # noqa: E402


# ---- the presets and the settings table ---------------------------------------------------------
def test_the_notebook_presets_depart_from_notebook_01s_only_in_the_batch_and_the_generator():
    assert departures(resolve_config("notebooks_cyclegan"), "notebooks", {}) == {
        "data.P": (8, 4, "preset notebooks_cyclegan"), "data.K": (4, 2, "preset notebooks_cyclegan"),
        "model.generator.ngf": (8, 16, "preset notebooks_cyclegan"),
        "model.generator.n_blocks": (2, 3, "preset notebooks_cyclegan")}
    assert departures(resolve_config("notebooks_ts"), "notebooks", {}) == {"data.K": (4, 2, "preset notebooks_ts")}


def test_a_departure_names_who_set_it_whether_the_overrides_are_dotted_or_nested():
    for overrides in ({"ts.alpha_c": 0.01}, {"ts": {"alpha_c": 0.01}}):
        own = departures(resolve_config("notebooks_ts", overrides), "notebooks", overrides)
        assert own == {"data.K": (4, 2, "preset notebooks_ts"), "ts.alpha_c": (0.006, 0.01, "overrides")}
    assert departures(resolve_config("notebooks"), "notebooks", {}) == {}


def test_the_departures_read_as_a_table_and_as_a_sentence():
    own = {"data.K": (4, 2, "preset notebooks_ts"), "ts.alpha_c": (0.006, 0.01, "overrides")}
    table = departures_table(own)
    assert list(table.columns) == ["this notebook", "notebooks preset", "set by"]
    assert table.loc["data.K"].tolist() == ["2", "4", "preset notebooks_ts"]
    assert table.loc["ts.alpha_c", "set by"] == "overrides"
    assert departures_text(own) == "`data.K` = 2 (notebooks: 4), `ts.alpha_c` = 0.01 (notebooks: 0.006, an override)"
    assert departures_text({}) == "nowhere"


# ---- notebook 02: the networks ------------------------------------------------------------------
def test_the_teacher_note_says_where_the_teacher_came_from_and_how_well_it_retrieved():
    rec = NetworkRecord("teacher", {"depth": 18, "num_classes": 4}, quality={"ir_R1": 91.234, "ir_mAP": 80.06})
    text = teacher_note("runs/teacher/teacher.pt", rec, 0.2)
    assert text == ("Teacher: `runs/teacher/teacher.pt` (ResNet-18, IR→IR R1 91.2%, mAP 80.1% as measured when it "
                    "was trained; 0 s of training in this notebook).")
    assert "; 125 s of training" in teacher_note("pretrained in this run", rec, 125.4)


def test_layer_shapes_lists_the_layers_that_change_the_shape():
    seq = torch.nn.Sequential(torch.nn.ReflectionPad2d(1), torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.ReLU(),
                              torch.nn.InstanceNorm2d(4), torch.nn.Conv2d(4, 2, 1))
    with torch.no_grad():
        table = layer_shapes(seq, torch.zeros(1, 3, 8, 6))
    assert table.to_dict("records") == [{"layer": "Conv2d", "output": (4, 4, 3)},
                                        {"layer": "Conv2d", "output": (2, 4, 3)}]


def test_param_count_is_in_millions_with_two_decimals():
    assert param_count(torch.nn.Linear(1000, 1000)) == "1.00 M"  # 1,001,000 parameters
    assert param_count(torch.nn.Linear(2000, 1500)) == "3.00 M"
    assert param_count(torch.nn.Linear(10, 10)) == "0.00 M"


def test_the_networks_table_shows_a_joint_or_an_ordinary_d_i():
    gan = SimpleNamespace(gen_ir=torch.nn.Linear(1000, 1000), disc_ir=torch.nn.Linear(10, 10),
                          disc_rgb=torch.nn.Linear(10, 10))
    teacher = SimpleNamespace(former=torch.nn.Linear(2000, 1000))
    shapes = {"fmap": torch.zeros(1, 256, 8, 4), "d_i": torch.zeros(1, 1, 8, 4), "d_r": torch.zeros(1, 1, 14, 6)}
    joint = networks_table(gan, teacher, height=128, width=64, joint=True, **shapes)
    assert list(joint.index) == ["G_I / G_R", "D_I (joint)", "D_R", "FE_T / FE_S"]
    assert joint.loc["D_I (joint)", "input"] == "(3, 128, 64) + f_map (256, 8, 4)"
    assert joint.loc["D_I (joint)", "output"] == "(1, 8, 4)" and joint.loc["D_R", "output"] == "(1, 14, 6)"
    assert joint.loc["FE_T / FE_S", "output"] == "(256, 8, 4)"
    assert joint.loc["G_I / G_R", "parameters"] == "1.00 M" and joint.loc["FE_T / FE_S", "parameters"] == "2.00 M"
    ordinary = networks_table(gan, teacher, height=128, width=64, joint=False, **shapes)
    assert ordinary.loc["D_I (ordinary)", "input"] == "(3, 128, 64)"


# ---- notebook 02: Fig. 5 and its measures -------------------------------------------------------
def _dataset(tmp_path) -> SimpleNamespace:
    colours = {"red": (255, 0, 0), "blue": (0, 0, 255), "grey": (128, 128, 128), "white": (255, 255, 255)}
    for name, rgb in colours.items():
        Image.new("RGB", (8, 16), rgb).save(tmp_path / f"{name}.png")
    p = lambda name: str(tmp_path / f"{name}.png")  # noqa: E731
    return SimpleNamespace(test=[Record(p("red"), 1, 1, "rgb"), Record(p("blue"), 1, 2, "rgb"),
                                 Record(p("grey"), 1, 3, "ir"), Record(p("white"), 2, 1, "rgb"),
                                 Record(p("grey"), 3, 3, "ir"), Record(p("white"), 3, 1, "rgb")])


def test_the_shared_test_ids_have_both_modalities(tmp_path):
    assert shared_test_ids(_dataset(tmp_path)) == [1, 3]


def test_first_image_is_the_first_record_of_that_person_and_modality(tmp_path):
    x = first_image(_dataset(tmp_path), 1, "rgb", build_transform(False, 16, 8))
    assert x.shape == (3, 16, 8)
    assert torch.allclose(reid_to_unit(x).mean(dim=(1, 2)), torch.tensor([1.0, 0.0, 0.0]), atol=1e-3)  # red, not blue


class _Gan(torch.nn.Module):
    """G_I makes every image mid-grey, G_R copies; records whether it ran in eval mode."""

    def __init__(self):
        super().__init__()
        self.gen_ir = _Recorder(lambda x: torch.zeros_like(x))
        self.gen_rgb = _Recorder(lambda x: x)


class _Recorder(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn, self.modes = fn, []

    def forward(self, x):
        self.modes.append(self.training)
        return self.fn(x)


@pytest.mark.parametrize("training", [True, False])
def test_translate_gives_fig5s_columns_in_unit_range_and_leaves_the_mode_as_it_was(tmp_path, training):
    gan = _Gan().train(training)
    out = translate(gan, _dataset(tmp_path), [1, 3], build_transform(False, 16, 8), "cpu")
    assert list(out) == ["real RGB", "fake IR", "rec. RGB", "real IR", "fake RGB"]
    assert all(v.shape == (2, 3, 16, 8) for v in out.values())
    assert torch.allclose(out["real RGB"][0].mean(dim=(1, 2)), torch.tensor([1.0, 0.0, 0.0]), atol=1e-3)
    assert torch.allclose(out["real RGB"][1], torch.ones(3, 16, 8), atol=1e-3)  # person 3: white
    assert torch.allclose(out["fake IR"], torch.full((2, 3, 16, 8), 0.5))
    assert torch.equal(out["rec. RGB"], out["fake IR"])
    assert torch.allclose(out["fake RGB"], out["real IR"])  # G_R copies
    assert gan.gen_ir.modes == [False] and gan.training is training


def test_the_measures_of_a_colour_and_its_layout():
    red, grey = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    red[:, 0] = 1.0
    assert chroma(grey) == 0.0 and chroma(red) == pytest.approx(3 ** -0.5)  # std of (1, 0, 0)
    assert luma(torch.ones(2, 3, 4, 4)).shape == (2, 1, 4, 4) and torch.allclose(luma(red), torch.tensor(0.299))
    assert torch.allclose(l1_per_image(torch.stack([red[0], grey[0]]), torch.zeros(2, 3, 4, 4)),
                          torch.tensor([1 / 3, 0.5]))
    ramp = torch.linspace(0, 1, 16).view(1, 1, 4, 4).expand(1, 3, 4, 4)
    assert layout_corr(ramp, ramp) == pytest.approx(1.0, abs=1e-5)
    assert layout_corr(ramp, 1 - ramp) == pytest.approx(-1.0, abs=1e-5)


def test_translation_with_errors_writes_each_reconstructions_l1_under_it():
    imgs = {k: torch.zeros(2, 3, 16, 8) for k in ("real RGB", "fake IR", "rec. RGB", "real IR", "fake RGB")}
    imgs["rec. RGB"][1] = 0.25
    fig = translation_with_errors(imgs, [4, 9], title="Fig. 5")
    axes = fig.axes
    assert len(axes) == 10 and fig._suptitle.get_text() == "Fig. 5"
    assert [axes[2].get_xlabel(), axes[7].get_xlabel()] == ["L1 0.000", "L1 0.250"]
    assert [axes[0].get_ylabel(), axes[5].get_ylabel()] == ["id 4", "id 9"] and axes[0].get_xlabel() == ""


def test_the_reconstruction_measures_and_their_table():
    real = torch.rand(3, 3, 8, 4, generator=torch.Generator().manual_seed(0))
    imgs = {"real RGB": real, "fake IR": luma(real).expand_as(real), "rec. RGB": real.clone(), "real IR": real,
            "fake RGB": real}
    m = reconstruction_measures(imgs)
    assert m["rec_l1"] == 0.0 and m["layout"] == pytest.approx(1.0, abs=1e-5)
    assert m["grey_l1"] > 0 and m["flat_l1"] > m["grey_l1"]  # random colours: the mean colour is further off
    assert m["chroma"]["fake IR"] == pytest.approx(0.0, abs=1e-6) and m["chroma"]["real RGB"] > 0.1
    table = reconstruction_table(m)
    assert list(table.columns) == ["chroma", "L1 to the real RGB", "grey-level correlation with the real RGB"]
    assert table.loc["grey copy of the real RGB", "L1 to the real RGB"] == round(m["grey_l1"], 3)
    assert table.loc["rec. RGB", "grey-level correlation with the real RGB"] == 1.0
    assert pd.isna(table.loc["fake IR", "L1 to the real RGB"])


@pytest.mark.parametrize("rec_l1, colours", [
    (0.09, "well below the grey copy's (0.200): most colours come back"),
    (0.19, "below the grey copy's (0.200) but not by much"),
    (0.29, "below a flat image of the mean colour (0.300): the colours are mostly wrong"),
    (0.31, "and even a flat image of the input's mean colour (0.300): colours and brightness are wrong")])
@pytest.mark.parametrize("layout, shape", [(0.65, "its light-and-dark layout does come back"),
                                           (0.35, "its light-and-dark layout comes back only in part"),
                                           (0.25, "not even its layout comes back")])
def test_the_reconstruction_sentences_follow_the_measures(rec_l1, colours, layout, shape):
    m = {"rec_l1": rec_l1, "grey_l1": 0.2, "flat_l1": 0.3, "layout": layout,
         "chroma": {"fake IR": 0.012, "real RGB": 0.1}}
    text = reconstruction_text(m, steps=100, cyc_first=2.5, cyc_last=1.25)
    assert text.startswith("After 100 steps, G_R(G_I(X_R)) is **not** the RGB input yet.")
    assert f"**{rec_l1:.3f}** per pixel and channel (about {rec_l1 * 255:.0f} of 255 levels)" in text
    assert colours in text and f"; {shape} (grey-level correlation with the input {layout:.2f})" in text
    assert "ω·L_cyc fell from 2.50 to 1.25 here" in text and "its chroma is 0.012 against 0.100" in text


# ---- notebook 03 --------------------------------------------------------------------------------
def test_notebook_02s_cyclegan_is_loaded_only_when_its_record_fits(tmp_path):
    data = resolve_config("notebooks").data
    path = tmp_path / "cyclegan.pt"
    assert load_fitting_cyclegan(path, "cpu", data, 8) == (None, f"{path} does not exist")
    gan = CycleGAN(8, CycleGANConfig(GeneratorConfig(ngf=4, n_blocks=1), DiscriminatorConfig(ndf=4)))
    save_network(path, gan, NetworkRecord("cyclegan", network_arch(gan), settings={"height": 128, "width": 64,
                                          "steps": 7}, data=data_tag(data), quality={"rec_rgb_l1": 0.25}))
    loaded, note = load_fitting_cyclegan(path, "cpu", data, 8)
    assert isinstance(loaded, CycleGAN)
    assert note == f"{path} (7 training steps in notebook 02; reconstruction L1 0.250)"
    loaded, note = load_fitting_cyclegan(path, "cpu", resolve_config("notebooks", {"data.height": 256}).data, 8)
    assert loaded is None and note == f"{path} does not fit (settings.height is 128, this run needs 256)"
    save_network(path, gan, NetworkRecord("cyclegan", network_arch(gan), settings={"height": 128, "width": 64,
                                          "steps": 7}, data=data_tag(data)))
    assert load_fitting_cyclegan(path, "cpu", data, 8)[1].endswith("reconstruction L1 nan)")


def test_the_maps_figure_pairs_each_image_with_the_teachers_and_the_students_maps():
    images = {k: torch.zeros(4, 3, 16, 8) for k in ("ir", "fake", "rgb")}
    maps = {k: torch.rand(4, 5, 1, 1) for k in ("ir", "fake", "rgb")}
    fig = ts_maps_figure(images, maps, maps, [0, 2], "T and S")
    titles = [ax.get_title() for ax in fig.axes[:9]]
    assert titles == ["X_I", "T(X_I)", "S(X_I)", "X_I'", "T(X_I')", "S(X_I')", "X_R", "S(X_R)", "T(X_R)\nunused"]
    assert len(fig.axes) == 2 * 9 + 2 and fig._suptitle.get_text() == "T and S"  # a colour bar per row


def test_pair_dist_is_the_mean_squared_difference_of_every_pair():
    a, b = torch.tensor([[0.0, 0.0], [1.0, 1.0]]), torch.tensor([[1.0, 1.0], [1.0, 3.0]])
    assert torch.allclose(pair_dist(a, b), torch.tensor([[1.0, 5.0], [0.0, 2.0]]))
    x, y = torch.randn(5, 2, 3, 3), torch.randn(4, 2, 3, 3)
    brute = ((x.flatten(1)[:, None] - y.flatten(1)[None]) ** 2).mean(-1)
    assert torch.allclose(pair_dist(x, y), brute, atol=1e-5)


def test_cd_distances_average_over_the_same_and_the_other_persons():
    labels = torch.tensor([0, 1])
    f_rgb, t_ir, f_ir = (torch.tensor(v).view(2, 1, 1, 1) for v in ([0.0, 2.0], [0.0, 2.0], [1.0, 2.0]))
    assert cd_distances(f_rgb, f_ir, t_ir, labels) == {"RGB→IR same person": 0.0, "RGB→IR other persons": 4.0,
                                                       "student RGB vs IR, same person": 0.5}


def _cd_log(other_end: float, gap: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"step": [0, 1, 2], "L_CD (Eq. 15)": [10.0, 5.0, 2.0], "RGB→IR same person": [1.0, 0.9, 0.8],
                         "RGB→IR other persons": [1.1, 1.0, other_end], "student RGB vs IR, same person": gap})


@pytest.mark.parametrize("other_end, verdict", [(0.909, "(clearly: part of the move is about the person"),
                                                (0.825, "(slightly: nearly all of the move is the shared shift)"),
                                                (0.815, "(not at all: the move is the shared shift")])
def test_the_cross_domain_sentences_tell_how_much_of_the_move_is_about_the_person(other_end, verdict):
    text = cd_text(_cd_log(other_end, [2.0, 1.9, 1.95]))
    assert text.startswith("In 2 steps L_CD fell from 10.0000 to **2.0000**.")
    assert f"a shared shift of {1.1 - other_end:.4f}" in text and f"to **{other_end - 0.8:+.4f}**" in text
    assert f"{(other_end - 0.8) / other_end:.0%} closer" in text and verdict in text


def test_the_cross_domain_sentences_say_whether_the_students_ir_maps_followed():
    fell = cd_text(_cd_log(1.0, [2.0, 1.0, 1.5]))
    assert "went from 2.0000 to 1.5000, passing through a low of 1.0000 on the way: through the shared" in fell
    stayed = cd_text(_cd_log(1.0, [2.0, 1.99, 1.98]))
    assert "went from 2.0000 to 1.9800: its IR maps did not follow its RGB maps" in stayed
    assert stayed.endswith("that is Eq. (13)-(14)'s job.")
