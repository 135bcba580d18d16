"""Read a PyTorch state dict into numpy arrays without importing torch.

A `.pth` file is a pickle whose tensors point into storages kept beside it: in the legacy
format (torch < 1.6) the storages follow the pickle in the same file, in the zip format they
are entries `<archive>/data/<key>` of a zip. Only plain tensors, OrderedDicts and Python
builtins are allowed in the pickle, so loading a file runs no code from it.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class _StorageType:
    dtype: type


@dataclass
class _Storage:
    key: str
    dtype: type


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, offset, shape, stride, *_ignored) -> _TensorRef:
    return _TensorRef(storage, int(offset), tuple(shape), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _StorageType(_DTYPES[name])
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a weights file")

    def persistent_load(self, saved_id):
        kind, storage_type, key, *_rest = saved_id
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected persistent id {saved_id[:2]!r}")
        return _Storage(str(key), storage_type.dtype)


def _materialise(obj, buffers: dict[str, np.ndarray]):
    if isinstance(obj, _TensorRef):
        flat = buffers[obj.storage.key].view(obj.storage.dtype)
        itemsize = flat.itemsize
        if not obj.shape:
            return np.array(flat[obj.offset])
        end = obj.offset + sum((n - 1) * s for n, s in zip(obj.shape, obj.stride, strict=True)) + 1
        if min(obj.shape) > 0 and end > flat.size:
            raise ValueError(f"tensor of shape {obj.shape} runs past its storage of {flat.size} items")
        view = np.lib.stride_tricks.as_strided(
            flat[obj.offset :], obj.shape, tuple(s * itemsize for s in obj.stride), writeable=False
        )
        return np.array(view)
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialise(v, buffers)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_materialise(v, buffers) for v in obj)
    return obj


def _storage_keys(obj, found: dict[str, type]) -> dict[str, type]:
    if isinstance(obj, _TensorRef):
        found[obj.storage.key] = obj.storage.dtype
    elif isinstance(obj, dict):
        for value in obj.values():
            _storage_keys(value, found)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _storage_keys(value, found)
    return found


def _load_legacy(handle: io.BufferedIOBase) -> dict:
    if pickle.load(handle) != _LEGACY_MAGIC:
        raise ValueError("not a PyTorch weights file: wrong magic number")
    pickle.load(handle)  # protocol version
    pickle.load(handle)  # sys_info
    obj = _Unpickler(handle).load()
    dtypes = _storage_keys(obj, {})
    buffers = {}
    for key in pickle.load(handle):
        dtype = np.dtype(dtypes.get(str(key), np.uint8))
        (count,) = struct.unpack("<q", handle.read(8))
        data = handle.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise ValueError(f"weights file truncated in storage {key}")
        buffers[str(key)] = np.frombuffer(data, dtype=np.uint8)
    return _materialise(obj, buffers)


def _load_zip(archive: zipfile.ZipFile) -> dict:
    pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise ValueError("not a PyTorch weights file: no single data.pkl in the zip")
    prefix = pickles[0][: -len("data.pkl")]
    obj = _Unpickler(io.BytesIO(archive.read(pickles[0]))).load()
    buffers = {
        key: np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=np.uint8)
        for key in _storage_keys(obj, {})
    }
    return _materialise(obj, buffers)


def load_state_dict(path: Path | str) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch `.pth` state dict, by name, as numpy arrays.

    Raises ValueError (or pickle.UnpicklingError) when the file is not a plain state dict.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            obj = _load_zip(archive)
    else:
        with open(path, "rb") as handle:
            obj = _load_legacy(handle)
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
        raise ValueError(f"{path.name} does not hold a state dict of tensors")
    return dict(obj)
