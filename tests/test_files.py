"""Every file the project writes: atomic saves, safe loads, network records, the run-folder lock."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest
import torch

from tsgan_lib.files import (FileFormatError, FileWriteError, NetworkRecord, RunFolderBusy, RunLock, load_network,
                             load_weights, network_arch, read_json, read_network_file, save_atomic, save_network,
                             write_json)
from tsgan_lib.models import CycleGAN, CycleGANConfig, DiscriminatorConfig, GeneratorConfig, build_backbone


def test_save_atomic_keeps_the_old_file_when_a_write_fails(tmp_path):
    path = save_atomic({"x": torch.ones(2)}, tmp_path / "c.pt")

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_atomic({"x": Unpicklable()}, path)
    assert torch.equal(load_weights(path)["x"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


def test_a_full_disk_leaves_the_previous_checkpoint_and_says_so(tmp_path, monkeypatch):
    path = save_atomic({"x": torch.ones(2)}, tmp_path / "checkpoint.pt")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(FileWriteError, match=r"checkpoint.pt \(No space left on device\); the previous file is "
                                             r"intact\. The disk is full: free some space"):
        save_atomic({"x": torch.zeros(2)}, path)
    monkeypatch.undo()
    assert torch.equal(load_weights(path)["x"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_file_with_pickled_code_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"payload": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(FileFormatError, match="refused: it holds pickled Python objects"):
        load_weights(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_weights(tmp_path / "missing.pt")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_truncated_or_corrupted_checkpoint_is_named(tmp_path, damage):
    path = save_atomic({"w": torch.randn(1000)}, tmp_path / "checkpoint.pt")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00" * 64 + data[64:], "empty": b""}[damage])
    with pytest.raises(FileFormatError, match="checkpoint.pt: not a readable weights-only checkpoint: truncated or "
                                              "corrupted"):
        load_weights(path)


def test_json_files_are_atomic_and_invalid_ones_named(tmp_path):
    write_json(tmp_path / "r.json", {"a": [1, 2]})
    assert read_json(tmp_path / "r.json") == {"a": [1, 2]}
    (tmp_path / "bad.json").write_text('{"a": ')
    with pytest.raises(FileFormatError, match="bad.json is not valid JSON"):
        read_json(tmp_path / "bad.json", "a results.json")
    with pytest.raises(FileNotFoundError, match="expected a results.json"):
        read_json(tmp_path / "none.json", "a results.json")


def test_networks_round_trip_with_their_record_and_the_fit_check(tmp_path):
    model = build_backbone(5, 18)
    record = NetworkRecord("teacher", network_arch(model), settings={"height": 64, "pad": 2}, data={"dataset": "x"},
                           quality={"ir_R1": 80.0})
    save_network(tmp_path / "t.pt", model, record)
    loaded, rec = load_network(tmp_path / "t.pt", kind="teacher")
    assert rec.quality == {"ir_R1": 80.0} and not loaded.training
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    assert rec.mismatch(arch__depth=18, settings__height=64, data={"dataset": "x"}) is None
    why = rec.mismatch(arch__depth=50, settings__pad=10, settings__recipe={"lr": 1})
    assert "arch.depth is 18, this run needs 50" in why and "settings.pad is 2, this run needs 10" in why
    assert "settings.recipe is '<not recorded>'" in why
    with pytest.raises(FileFormatError, match="holds a teacher, expected a cyclegan"):
        load_network(tmp_path / "t.pt", kind="cyclegan")
    gan = CycleGAN(256, CycleGANConfig(GeneratorConfig(ngf=4, n_blocks=1), DiscriminatorConfig(ndf=8)))
    save_network(tmp_path / "g.pt", gan, NetworkRecord("cyclegan", network_arch(gan)))
    gan2, _ = load_network(tmp_path / "g.pt")
    assert all(torch.equal(v, gan2.state_dict()[k]) for k, v in gan.state_dict().items())


def test_files_of_the_first_layout_are_still_read(tmp_path):
    model = build_backbone(5, 18)
    torch.save({"state_dict": model.state_dict(), "config": {"depth": 18, "num_classes": 5, "height": 64,
                                                             "width": 32, "data": "synthetic", "saved_at": "x"}},
               tmp_path / "old_teacher.pt")
    _, rec = read_network_file(tmp_path / "old_teacher.pt")
    assert rec.kind == "teacher" and rec.settings["pad"] == 10 and rec.data == {"data": "synthetic"}
    torch.save({"state_dict": model.state_dict(), "info": {"depth": 18, "num_classes": 5, "height": 64}},
               tmp_path / "old_backbone.pt")
    m, rec = load_network(tmp_path / "old_backbone.pt", kind="backbone")
    assert rec.settings == {"height": 64}
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(FileFormatError, match="expected a saved network"):
        load_network(tmp_path / "other.pt")


_HOLD = "import sys, time; from tsgan_lib.files import RunLock\nwith RunLock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)\n"


@pytest.mark.slow
def test_one_folder_one_run_and_a_stale_lock_is_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderBusy, match=rf"in use by pid {holder.pid} on .*: another run is writing there.*"
                                                r"stop it \(Ctrl-C, or kill that pid\)"):
            with RunLock(tmp_path):
                pass
    finally:
        holder.kill()  # SIGKILL: no clean-up, the lock file stays behind
        holder.wait()
    assert (tmp_path / ".lock").read_text().startswith(f"pid {holder.pid}")
    messages = []
    with RunLock(tmp_path, log=messages.append):
        assert (tmp_path / ".lock").read_text().startswith(f"pid {os.getpid()}")
    assert f"the lock of pid {holder.pid}" in messages[0] and "taking it over" in messages[0]
    assert not (tmp_path / ".lock").exists()
