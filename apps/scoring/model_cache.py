"""Each worker process loads a model version once and keeps it, least recently used first out.

A version's supervised head (ml.supervised, stored as JSON on the version) is parsed once and
kept next to its scorer.

TensorFlow is not fork-safe, so scoring workers run the solo or threads pool; the lock makes the
cache safe under threads, and the sha256 in the key means a replaced artifact is reloaded.
"""

import logging
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from apps.scoring.models import ModelVersion
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
    global load_count
    load_count += 1
    try:
        return load_scorer(Path(version.artifact.path))
    except NotImplementedError:
        # Remote storage (S3): copy the artifact to a local file first.
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / "model.keras"
            with version.artifact.open("rb") as source:
                local.write_bytes(source.read())
            return load_scorer(local)


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
