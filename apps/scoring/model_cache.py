"""Each worker process loads a model version once and keeps it, least recently used first out.

A version's supervised head (ml.supervised, stored as JSON on the version) is parsed once and
kept next to its scorer.

TensorFlow is not fork-safe, so scoring workers run the solo or threads pool; the lock makes the
cache safe under threads, and the sha256 in the key means a replaced artifact is reloaded. An
artifact is loaded only once its bytes match the version's recorded sha256.
"""

import hashlib
import logging
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from apps.scoring.models import ModelVersion
from ml.artifacts import ArtifactInvalid, verify_artifact
from ml.scorers import Scorer, load_scorer
from ml.supervised import LabelHead

logger = logging.getLogger(__name__)
_lock = threading.Lock()


@dataclass
class Loaded:
    scorer: Scorer
    head: LabelHead | None


_cache: "OrderedDict[tuple[int, str], Loaded]" = OrderedDict()
load_count = 0  # read by tests and the worker's log: how often an artifact was read from storage


def _load(version: ModelVersion) -> Scorer:
    """The version's scorer, read from its artifact once the artifact's sha256 checks out.

    Raises ArtifactInvalid when the artifact is missing, altered or unreadable.
    """
    global load_count
    load_count += 1
    if not version.artifact:
        raise ArtifactInvalid(f"Model version {version.version} has no artifact.")
    try:
        return _load_checked(Path(version.artifact.path), version)
    except NotImplementedError:
        pass
    # Remote storage (S3): copy the artifact to a local file first.
    with tempfile.TemporaryDirectory() as folder:
        local = Path(folder) / "model.keras"
        try:
            with version.artifact.open("rb") as source:
                local.write_bytes(source.read())
        except FileNotFoundError as error:
            raise ArtifactInvalid(f"The model artifact {version.artifact.name} is missing.") from error
        return _load_checked(local, version)


def _load_checked(path: Path, version: ModelVersion) -> Scorer:
    if version.sha256:
        verify_artifact(path, version.sha256)
    elif not path.is_file():
        raise ArtifactInvalid(f"The model artifact {path.name} is missing.")
    try:
        return load_scorer(path)
    except Exception as error:  # a zip Keras cannot read, written without a recorded sha256
        raise ArtifactInvalid(f"The model artifact {path.name} could not be loaded: {error}") from error


def scorer_for(version: ModelVersion) -> Scorer:
    return _loaded(version).scorer


def head_for(version: ModelVersion) -> LabelHead | None:
    """The version's supervised head, or None when it has none."""
    return _loaded(version).head


def _loaded(version: ModelVersion) -> Loaded:
    key = (version.pk, version.sha256)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        loaded = Loaded(scorer=_load(version), head=LabelHead.from_dict(version.head) if version.head else None)
        logger.info(
            "Loaded model version %s (machine %s v%s, %s)",
            version.pk, version.machine_id, version.version, version.scorer,
        )
        _cache[key] = loaded
        while len(_cache) > getattr(settings, "LAYERWATCH_MODEL_CACHE_SIZE", 64):
            _cache.popitem(last=False)
        return loaded


def cache_clear() -> None:
    with _lock:
        _cache.clear()


def artifact_problem(version: ModelVersion) -> str | None:
    """Why the version's artifact cannot be loaded (missing, or not its recorded sha256); None if it can.

    Reads the bytes without loading the network, so the sweeper can tell when an artifact is repaired.
    """
    if not version.artifact:
        return f"Model version {version.version} has no artifact."
    try:
        with version.artifact.open("rb") as handle:
            digest = hashlib.sha256()
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except (FileNotFoundError, OSError):
        return f"The model artifact {version.artifact.name} is missing."
    if version.sha256 and digest.hexdigest() != version.sha256:
        return f"The model artifact {version.artifact.name} is corrupt: its sha256 is not the recorded one."
    return None
