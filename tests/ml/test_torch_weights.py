import pickle
from pathlib import Path

import numpy as np
import pytest

from ml.backbones.torch_weights import load_state_dict

DATA = Path(__file__).parent / "data"
MAGIC = 0x1950A86A20F9469CFC6C


def _legacy_file(path: Path, obj, *, keys=(), magic=MAGIC) -> Path:
    with open(path, "wb") as handle:
        for part in (magic, 1001, {"little_endian": True}, obj, list(keys)):
            pickle.dump(part, handle, protocol=2)
    return path


@pytest.mark.parametrize("name", ["state_dict_legacy.pth", "state_dict_zip.pth"])
def test_it_reads_both_pytorch_formats_without_torch(name):
    tensors = load_state_dict(DATA / name)
    assert set(tensors) == {"conv", "view", "count", "half"}
    assert np.array_equal(tensors["conv"], np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    # Saved as a transposed view: its strides, not its storage order, give the values.
    assert np.array_equal(tensors["view"], np.arange(12, dtype=np.float32).reshape(3, 4).T)
    assert tensors["count"].shape == () and int(tensors["count"]) == 7
    assert tensors["half"].dtype == np.float16 and tensors["half"].tolist() == [1.5, -2.0]


def test_it_refuses_a_pickle_that_names_other_classes(tmp_path):
    import datetime

    path = _legacy_file(tmp_path / "evil.pth", {"when": datetime.date(2020, 1, 1)})
    with pytest.raises(pickle.UnpicklingError, match="datetime.date is not allowed"):
        load_state_dict(path)


def test_it_refuses_a_file_that_is_not_a_state_dict(tmp_path):
    with pytest.raises(ValueError, match="does not hold a state dict"):
        load_state_dict(_legacy_file(tmp_path / "list.pth", [1, 2, 3]))


def test_it_refuses_a_file_with_the_wrong_magic_number(tmp_path):
    with pytest.raises(ValueError, match="wrong magic number"):
        load_state_dict(_legacy_file(tmp_path / "other.pth", {}, magic=12345))


def test_it_refuses_a_truncated_file(tmp_path):
    data = (DATA / "state_dict_legacy.pth").read_bytes()
    path = tmp_path / "short.pth"
    path.write_bytes(data[:-10])
    with pytest.raises(ValueError, match="truncated"):
        load_state_dict(path)


def test_it_refuses_a_zip_without_one_data_pickle(tmp_path):
    import zipfile

    path = tmp_path / "empty.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/version", "3")
    with pytest.raises(ValueError, match="no single data.pkl"):
        load_state_dict(path)

