import numpy as np
import pytest

from apps.demo.printers import png_bytes
from apps.layers.models import Layer
from apps.layers.services import layer_ingest
from apps.scoring import layer_groups, model_cache
from apps.scoring.layer_arrays import layers_preprocessed
from apps.scoring.models import LayerGroup
from apps.scoring.services import layers_score
from apps.scoring.training import model_version_create, model_version_train
from ml.calibration_set import calibration_set
from ml.groups import embed_layers
from ml.preprocess import preprocess
from ml.synthetic import generate_layers

pytestmark = [pytest.mark.django_db, pytest.mark.long(12)]


def two_groups(n=12):
    """n layers showing group 0's parts, then n showing group 1's, of the same machine."""
    return generate_layers(seed=3, n=n, group=0) + generate_layers(seed=3, n=n, group=1)


def add(machine, synthetic, job="J"):
    return [
        layer_ingest(machine=machine, job_id=job, index=i, data=png_bytes(s.image), enqueue=False).layer
        for i, s in enumerate(synthetic)
    ]


def train(machine):
    # Groups come from the images and are calibrated on any scorer's scores; the seed trains fastest.
    return model_version_train(version=model_version_create(machine=machine, scorer="seed"), epochs=1, verbose=False)


def test_it_finds_the_layer_groups_at_training_and_falls_back_to_the_global_threshold(printer):
    add(printer.machine, two_groups())
    version = train(printer.machine)
    groups = list(version.layer_groups.all())
    assert [g.index for g in groups] == [0, 1]
    assert sum(g.n_train for g in groups) == len(version.training_set["train_layer_ids"])
    assert sum(g.n_holdout for g in groups) == len(version.training_set["holdout_layer_ids"])
    # A handful of held-out layers per group is far from the 99 a 1% false-alarm bound needs.
    assert all(g.threshold_source == "global" and g.threshold == version.threshold for g in groups)
    assert "needed" in groups[0].calibration["note"]
    assert version.metrics["layer_groups"]["n_groups"] == 2


def test_it_calibrates_a_threshold_per_group_when_a_group_has_enough_held_out_layers(printer, monkeypatch):
    monkeypatch.setattr(layer_groups, "min_calibration_layers", lambda target_fpr: 2)
    for job in ("A", "B", "C"):  # a whole job is held out for calibration: both groups in each
        add(printer.machine, two_groups(4), job=job)
    version = train(printer.machine)
    groups = list(version.layer_groups.all())
    assert len(groups) == 2
    assert all(g.threshold_source == "group" and g.calibration_method == "fpr_target" for g in groups)
    assert all(g.calibration["n_calibration"] == g.n_holdout for g in groups)
    assert groups[0].threshold != groups[1].threshold
    # The drift follower's reference is where calibration layers lay against their own group's threshold.
    held_out = Layer.objects.in_bulk(version.training_set["holdout_layer_ids"])
    images = calibration_set(
        layers_preprocessed([held_out[i] for i in version.training_set["holdout_layer_ids"]]),
        seed=version.training_set["seed"],
    )
    scores = model_cache.scorer_for(version).score(images).scores
    thresholds = [t for _, t in layer_groups.layer_groups_assign(version=version, embeddings=embed_layers(images))]
    assert version.metrics["drift"]["median"] == pytest.approx(float(np.median(scores / thresholds)), rel=1e-4)


def test_it_finds_one_group_when_every_layer_shows_the_same_parts(printer):
    add(printer.machine, generate_layers(seed=3, n=12, group=0))
    version = train(printer.machine)
    assert version.layer_groups.count() == 1


def install_groups(version, synthetic, thresholds):
    """Groups whose centroids are the embeddings of the given layers, with the given thresholds."""
    embeddings = embed_layers(np.stack([preprocess(s.image) for s in synthetic]))
    for index, (centroid, threshold) in enumerate(zip(embeddings, thresholds, strict=True)):
        LayerGroup.objects.create(
            model_version=version, index=index, centroid=centroid.tolist(), threshold=threshold,
            threshold_source="group", n_train=10, n_holdout=100,
        )


def test_it_scores_a_layer_against_its_groups_threshold(printer, install_model):
    version = install_model(printer.machine, threshold=1e12)
    install_groups(version, two_groups(n=1), thresholds=[1e12, 1e-9])
    first, second = add(printer.machine, generate_layers(seed=3, n=2, group=0)[1:] + two_groups(n=2)[3:])
    scores = {s.layer_id: s for s in layers_score(layer_ids=[first.pk, second.pk])}
    assert (scores[first.pk].layer_group, scores[first.pk].threshold, scores[first.pk].anomalous) == (0, 1e12, False)
    assert (scores[second.pk].layer_group, scores[second.pk].threshold, scores[second.pk].anomalous) == (1, 1e-9, True)


def test_it_keeps_the_versions_threshold_for_a_version_without_groups(printer, install_model):
    install_model(printer.machine, threshold=1e12)
    [layer] = add(printer.machine, generate_layers(seed=3, n=1))
    [score] = layers_score(layer_ids=[layer.pk])
    assert score.layer_group is None and score.threshold == 1e12
    assert Layer.objects.get(pk=layer.pk).status == Layer.Status.SCORED
