"""One file per trained scorer: a Keras v3 `.keras` zip with layerwatch entries added.

Keras writes `config.json`, `metadata.json` and `model.weights.h5`; we append
`layerwatch/scorer.json` (scorer name, config, format) and `layerwatch/state.npz` (arrays the
scorer needs besides the network). Keras ignores entries it does not know, so the file still
opens with plain `keras.models.load_model`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from ml.preprocess import IMAGE_SIZE

if TYPE_CHECKING:
    from ml.scorers.base import Scorer

ARTIFACT_FORMAT = 1
SCORER_ENTRY = "layerwatch/scorer.json"
STATE_ENTRY = "layerwatch/state.npz"


def save_scorer(scorer: Scorer, path: Path) -> None:
    """Write the scorer to `path` (must end in .keras), replacing any file there atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"artifact path must end in .keras, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = scorer.get_state()
    metadata = {
        "format": ARTIFACT_FORMAT,
        "scorer": scorer.name,
        "config": scorer.config,
        "image_size": IMAGE_SIZE,
        "keras_version": keras.__version__,
        "state_keys": sorted(state),
    }
    # Write beside the target and rename, so a worker loading the active model never sees a
    # half-written zip.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".keras")
    os.close(handle)
    try:
        scorer.keras_model.save(temporary)
        buffer = io.BytesIO()
        np.savez(buffer, **state)
        with zipfile.ZipFile(temporary, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(SCORER_ENTRY, json.dumps(metadata, indent=2, sort_keys=True))
            archive.writestr(STATE_ENTRY, buffer.getvalue())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_artifact_metadata(path: Path) -> dict[str, Any]:
    """The layerwatch metadata of an artifact, without loading the network."""
    with zipfile.ZipFile(path) as archive:
        if SCORER_ENTRY not in archive.namelist():
            raise ValueError(f"{path} is not a layerwatch artifact: it has no {SCORER_ENTRY}")
        metadata = json.loads(archive.read(SCORER_ENTRY))
    if metadata.get("format") != ARTIFACT_FORMAT:
        raise ValueError(
            f"{path} has artifact format {metadata.get('format')!r}, "
            f"this code reads format {ARTIFACT_FORMAT}"
        )
    return metadata


def load_scorer(path: Path) -> Scorer:
    """Load whichever scorer the artifact holds, dispatching on its stored scorer name."""
    # Imported here because ml.scorers imports this module to re-export load_scorer.
    from ml.scorers import get_scorer_class

    path = Path(path)
    metadata = read_artifact_metadata(path)
    scorer_class = get_scorer_class(metadata["scorer"])
    with zipfile.ZipFile(path) as archive:
        raw_state = archive.read(STATE_ENTRY) if STATE_ENTRY in archive.namelist() else None
    state: dict[str, np.ndarray] = {}
    if raw_state is not None:
        with np.load(io.BytesIO(raw_state), allow_pickle=False) as arrays:
            state = {key: arrays[key] for key in arrays.files}
    # compile=False: scoring needs no optimizer, and custom losses need not be importable.
    model = keras.models.load_model(path, compile=False)
    return scorer_class.from_artifact(model=model, config=metadata["config"], state=state)


class ArtifactInvalid(Exception):
    """An artifact that is missing, or whose bytes are not the ones that were trained and recorded."""


def verify_artifact(path: Path, sha256: str) -> None:
    """Raise ArtifactInvalid unless the file at `path` exists and its sha256 is `sha256`."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactInvalid(f"The model artifact {path.name} is missing.")
    actual = file_sha256(path)
    if actual != sha256:
        raise ArtifactInvalid(
            f"The model artifact {path.name} is corrupt: its sha256 is {actual[:12]}…, "
            f"the recorded one is {sha256[:12]}…."
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
