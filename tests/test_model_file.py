"""Model files: exact round trips, atomic writes, and a clear message for every broken file."""

from __future__ import annotations

import json
import os
import re
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.training import model_file


@pytest.fixture
def network() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 6, rng=0), nn.Softplus(), nn.Linear(6, 3, rng=1))


@pytest.fixture
def saved(tmp_path, network):
    path = tmp_path / "model.npz"
    cr.save(network, path, metadata={"class_names": ["a", "b", "c"], "note": "test"})
    return path


def test_round_trip_gives_equal_weights_and_predictions(saved, network, rng) -> None:
    loaded = cr.load(saved)
    assert repr(loaded) == repr(network)
    for (name, original), (other_name, restored) in zip(network.named_parameters(), loaded.named_parameters()):
        assert name == other_name
        np.testing.assert_array_equal(original.data, restored.data)
    x = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(loaded(x).data, network(x).data)
    assert loaded.metadata == {"class_names": ["a", "b", "c"], "note": "test"}


def test_saved_files_get_ordinary_permissions(saved) -> None:
    import os

    umask = os.umask(0)
    os.umask(umask)
    assert saved.stat().st_mode & 0o777 == 0o666 & ~umask


def test_the_file_holds_only_numbers_and_json(saved) -> None:
    with np.load(saved, allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)
        header = json.loads(archive[model_file.HEADER_KEY].tobytes())
    assert header["format"] == "chainrule-model" and header["architecture"]["type"] == "Sequential"


def test_a_crash_while_saving_leaves_the_old_file_intact(saved, network, monkeypatch) -> None:
    before = saved.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        cr.save(network, saved)
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == ["model.npz"]  # no temporary file left behind


def test_truncated_file(saved) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        cr.ModelFileError, match=r"^load: model.npz is (damaged or truncated|not a chainrule model file)"
    ):
        cr.load(saved)


def test_corrupted_bytes(saved) -> None:
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        member = archive.getinfo("parameter:layers.0.weight.npy")
    middle = member.header_offset + 30 + len(member.filename) + 100  # inside the stored array bytes
    data[middle : middle + 8] = b"\xff" * 8
    saved.write_bytes(bytes(data))
    with pytest.raises(cr.ModelFileError, match="load: model.npz is damaged or truncated"):
        cr.load(saved)


def test_foreign_files(tmp_path) -> None:
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(
        cr.ModelFileError, match=r"load: notes.npz is not a chainrule model file \(not an .npz archive\)"
    ):
        cr.load(text)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.ones(3))
    with pytest.raises(cr.ModelFileError, match="load: other.npz is an .npz archive but not a chainrule model"):
        cr.load(other)
    with pytest.raises(cr.ModelFileError, match="does not exist"):
        cr.load(tmp_path / "missing.npz")


def test_pickled_objects_are_refused_without_running_them(tmp_path) -> None:
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('code ran')",))

    header = json.dumps({"format": "chainrule-model", "version": 1, "architecture": {"type": "ReLU"}}).encode()
    path = tmp_path / "evil.npz"
    np.savez(
        path,
        **{model_file.HEADER_KEY: np.frombuffer(header, np.uint8), "parameter:x": np.array([Boom()], dtype=object)},
    )
    with pytest.raises(cr.ModelFileError, match="load: evil.npz is damaged or truncated .*allow_pickle"):
        cr.load(path)


def _write(path, header, arrays):
    np.savez(path, **{model_file.HEADER_KEY: np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays})


def test_mismatched_and_unknown_contents(tmp_path, network) -> None:
    architecture = nn.describe(network)
    good = {f"parameter:{name}": p.data for name, p in network.named_parameters()}
    path = tmp_path / "m.npz"
    header = {"format": "chainrule-model", "version": 1, "architecture": architecture}

    _write(path, header, {**good, "parameter:layers.0.weight": np.ones((4, 6))})
    with pytest.raises(
        cr.ModelFileError, match=r"layers.0.weight has shape \(4, 6\) but the architecture needs \(6, 4\)"
    ):
        cr.load(path)
    _write(path, header, {k: v for k, v in good.items() if "bias" not in k})
    with pytest.raises(cr.ModelFileError, match="lacks the weights of layers.0.bias, layers.2.bias"):
        cr.load(path)
    _write(path, header, {**good, "parameter:extra": np.ones(2)})
    with pytest.raises(cr.ModelFileError, match="holds weights its architecture does not use: extra"):
        cr.load(path)
    _write(path, {**header, "version": 7}, good)
    with pytest.raises(cr.ModelFileError, match="written in model format 7; this chainrule reads format 1"):
        cr.load(path)
    _write(path, {**header, "architecture": {"type": "Conv2d"}}, good)
    with pytest.raises(cr.ModelFileError, match="describes an architecture chainrule cannot build"):
        cr.load(path)
    np.savez(path, **{model_file.HEADER_KEY: np.frombuffer(b"{not json", np.uint8)})
    with pytest.raises(cr.ModelFileError, match="damaged chainrule header"):
        cr.load(path)


def test_models_that_cannot_be_described_are_refused(tmp_path) -> None:
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter([1.0])

    with pytest.raises(TypeError, match="Custom is not a built-in layer"):
        cr.save(Custom(), tmp_path / "c.npz")
    with pytest.raises(TypeError, match="metadata must be JSON-serialisable"):
        cr.save(nn.Sequential(nn.ReLU()), tmp_path / "c.npz", metadata={"f": object()})
    assert not (tmp_path / "c.npz").exists()


def test_a_standardizing_layer_is_stored_in_the_architecture_and_restored_exactly(tmp_path, rng) -> None:
    mean, std = [5.8, 3.05, 0.1 + 0.2, 1 / 3], [0.83, 0.43, 1.76, 1e-3]
    net = nn.Sequential(nn.Standardize(mean, std), nn.Linear(4, 3, rng=0), nn.Softmax())
    path = tmp_path / "standardized.npz"
    cr.save(net, path)
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(archive[model_file.HEADER_KEY].tobytes())
    assert header["architecture"]["layers"][0] == {"type": "Standardize", "mean": mean, "std": std}
    loaded = cr.load(path)
    raw = rng.normal(size=(5, 4)) * 2 + 4
    np.testing.assert_array_equal(loaded(raw).data, net(raw).data)
    saved_state, loaded_state = net.state_dict(), loaded.state_dict()  # the buffers too
    assert list(loaded_state) == list(saved_state) and "layers.0.std" in loaded_state
    for name, values in saved_state.items():
        np.testing.assert_array_equal(loaded_state[name], values)


def _file_of_the_old_train_command(path, network, scaler) -> None:
    """What ``chainrule train --save`` wrote before nn.Standardize: the standardisation in the metadata."""
    metadata = {"task": "iris", "outputs": "logits", "class_names": ["a", "b", "c"], "standardizer": scaler.to_dict()}
    cr.save(network, path, metadata=metadata)


def test_files_with_the_standardisation_in_their_metadata_load_with_it_as_first_layer(tmp_path, network, rng) -> None:
    from chainrule import data

    raw = rng.normal(size=(8, 4)) * 3 + 5
    scaler = data.Standardizer().fit(raw)
    path = tmp_path / "old.npz"
    _file_of_the_old_train_command(path, network, scaler)
    loaded = cr.load(path)
    assert isinstance(loaded.layers[0], nn.Standardize)
    np.testing.assert_array_equal(loaded(raw).data, network(scaler.transform(raw)).data)  # raw input, as predict
    assert "standardizer" not in loaded.metadata and loaded.metadata["class_names"] == ["a", "b", "c"]

    mine = tmp_path / "mine.npz"  # a user's own metadata that happens to use the word is left alone
    cr.save(network, mine, metadata={"standardizer": scaler.to_dict()})
    assert repr(cr.load(mine)) == repr(network) and "standardizer" in cr.load(mine).metadata

    damaged = data.Standardizer(scaler.mean, np.zeros(4))
    _file_of_the_old_train_command(path, network, damaged)
    with pytest.raises(cr.ModelFileError, match="^load: old.npz holds a damaged standardizer .*std must be positive"):
        cr.load(path)


def test_saving_onto_a_folder_names_the_folder(tmp_path, network) -> None:
    target = tmp_path / "runs" / "today" / "model.npz"  # missing folders are created
    cr.save(network, target)
    assert repr(cr.load(target)) == repr(network)
    target.unlink()
    target.parent.rmdir()
    target.parent.parent.rmdir()
    with pytest.raises(
        IsADirectoryError, match="^" + re.escape(f"cannot save to {tmp_path}: it is a folder; give a file name")
    ):
        cr.save(network, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_saving_below_a_file_names_that_file(tmp_path, network) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    target = tmp_path / "notes.txt" / "model.npz"
    with pytest.raises(
        OSError, match=re.escape(f"cannot save to {target}: {tmp_path / 'notes.txt'} is a file, not a folder")
    ):
        cr.save(network, target)


def test_a_read_only_folder_is_named_not_the_temporary_file(tmp_path, network, monkeypatch) -> None:
    import tempfile

    def refuse(*args, dir, prefix, **kwargs):  # noqa: A002 - tempfile's own keyword
        raise PermissionError(13, "Permission denied", f"{dir}/{prefix}x1y2z3.tmp")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(PermissionError) as error:
        cr.save(network, tmp_path / "model.npz")
    assert (
        str(error.value) == f"cannot save to {tmp_path / 'model.npz'}: no permission to write in the folder {tmp_path}"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_really_read_only_folder(tmp_path, network) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(
            PermissionError, match=re.escape(f"cannot save to {folder / 'm.npz'}: no permission to write in")
        ):
            cr.save(network, folder / "m.npz")
    finally:
        folder.chmod(0o755)


def test_a_failure_while_writing_names_the_path_and_keeps_the_old_file(saved, network, monkeypatch) -> None:
    import errno

    before = saved.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match=re.escape(f"cannot save to {saved}: No space left on device")):
        cr.save(network, saved)
    assert saved.read_bytes() == before and [p.name for p in saved.parent.iterdir()] == ["model.npz"]


def test_saving_to_a_symbolic_link_writes_its_target_and_keeps_the_link(tmp_path, network, rng) -> None:
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "real.npz"
    target.write_bytes(b"an older model")
    link = tmp_path / "latest.npz"
    link.symlink_to(os.path.join("models", "real.npz"))  # relative, as ln -s writes it
    cr.save(network, link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("models", "real.npz")
    x = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(cr.load(target)(x).data, network(x).data)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["latest.npz", "models", "real.npz"]  # no temporary file

    dangling = tmp_path / "next.npz"  # a link whose target does not exist yet: the target is created
    dangling.symlink_to(tmp_path / "models" / "new.npz")
    cr.save(network, dangling)
    assert dangling.is_symlink() and (tmp_path / "models" / "new.npz").is_file()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_special_files_are_refused_not_replaced(tmp_path, network) -> None:
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    link = tmp_path / "to_pipe.npz"
    link.symlink_to(fifo)
    for path in (fifo, link):
        with pytest.raises(
            OSError, match="^" + re.escape(f"cannot save to {path}: it is a named pipe (FIFO), not a regular file")
        ):
            cr.save(network, path)
    assert fifo.is_fifo() and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.npz", "to_pipe.npz"]

    folder_link = tmp_path / "folder.npz"
    folder_link.symlink_to(tmp_path)
    with pytest.raises(IsADirectoryError, match="^" + re.escape(f"cannot save to {folder_link}: it is a folder")):
        cr.save(network, folder_link)


def test_a_cnn_with_batch_norm_and_dropout_is_saved_and_loaded_with_its_running_statistics(tmp_path) -> None:
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=0),
        nn.BatchNorm2d(4, momentum=None),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.3),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.LayerNorm(16),
        nn.Linear(16, 3, rng=1),
    )
    x = np.random.default_rng(0).normal(size=(5, 1, 8, 8))
    for _ in range(3):
        net(x)  # training steps: the running statistics move away from 0 and 1
    net.eval()
    cr.save(net, tmp_path / "cnn.npz")
    loaded = cr.load(tmp_path / "cnn.npz").eval()
    np.testing.assert_array_equal(loaded(x).data, net(x).data)
    assert int(loaded.layers[1].num_batches_tracked) == 3 and loaded.layers[1].momentum is None
    for name, values in net.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], values)


def test_a_model_file_missing_its_running_statistics_is_refused(tmp_path) -> None:
    cr.save(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), tmp_path / "bn.npz")
    with np.load(tmp_path / "bn.npz") as archive:
        arrays = {key: archive[key] for key in archive.files if key != "buffer:layers.1.running_var"}
    np.savez(tmp_path / "damaged.npz", **arrays)
    with pytest.raises(cr.ModelFileError, match="load: damaged.npz lacks the buffers of layers.1.running_var"):
        cr.load(tmp_path / "damaged.npz")


def test_a_model_loads_in_the_mode_it_was_saved_in(tmp_path, rng) -> None:
    """A CNN with batch norm and dropout saved in eval mode predicts the same after loading (it was loaded training)."""
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 3)
    )
    x = cr.tensor(rng.normal(size=(5, 1, 4, 4)))
    for _ in range(3):
        model(x)  # running statistics move away from their start
    model.eval()
    cr.save(model, tmp_path / "cnn.npz")
    loaded = cr.load(tmp_path / "cnn.npz")
    assert loaded.training is False and all(not layer.training for layer in loaded.layers)
    np.testing.assert_array_equal(loaded(x).data, model(x).data)
    model.train()
    cr.save(model, tmp_path / "training.npz")
    assert cr.load(tmp_path / "training.npz").training is True


def test_padding_strings_ceil_mode_and_count_include_pad_are_saved_and_loaded(tmp_path) -> None:
    net = nn.Sequential(
        nn.Conv2d(1, 3, 4, padding="same", rng=0),
        nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(3, 2, 2, padding="valid", rng=1),
        nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        nn.Flatten(),
    )
    cr.save(net, tmp_path / "cnn.npz")
    loaded = cr.load(tmp_path / "cnn.npz")
    assert repr(loaded) == repr(net)
    assert loaded.layers[0].padding == "same" and loaded.layers[3].padding == "valid"
    assert loaded.layers[2].ceil_mode and not loaded.layers[4].count_include_pad
    x = np.random.default_rng(0).normal(size=(2, 1, 7, 7))
    assert net(x).shape == (2, 8)  # 7 → same 7 → ceil 4 → valid 3 → ceil 2 (×2)
    np.testing.assert_array_equal(loaded(x).data, net(x).data)
