import numpy as np

from ml.groups import LayerGroups, embed_layers, fit_groups
from ml.preprocess import preprocess
from ml.synthetic import generate_job, generate_layers


def _embed(layers):
    return embed_layers(np.stack([preprocess(layer.image) for layer in layers]))


def test_it_recovers_the_part_groups_of_a_job_despite_exposure_drift_and_shifts():
    job = generate_job(seed=5, n_layers=150, group_length=30)
    embeddings = _embed(job)
    groups = fit_groups(embeddings)
    assert groups.n_groups == 5
    assert groups.assign(embeddings).tolist() == [layer.group for layer in job]


def test_it_finds_one_group_when_all_layers_show_the_same_parts():
    layers = generate_layers(seed=2, n=60, group=0)
    assert fit_groups(_embed(layers)).n_groups == 1


def test_it_ignores_exposure_gain_and_offset():
    image = preprocess(generate_layers(seed=1, n=1)[0].image)
    a, b = embed_layers(np.stack([image, image * 0.8 + 0.05]))
    assert np.allclose(a, b, atol=1e-4)


def test_it_is_deterministic_and_round_trips_through_its_state():
    embeddings = _embed(generate_job(seed=7, n_layers=90, group_length=30))
    first, second = fit_groups(embeddings, seed=3), fit_groups(embeddings, seed=3)
    assert np.array_equal(first.centroids, second.centroids)
    restored = LayerGroups.from_state(first.to_state())
    assert np.array_equal(restored.assign(embeddings), first.assign(embeddings))


def test_it_does_not_make_groups_smaller_than_the_minimum():
    embeddings = _embed(generate_job(seed=7, n_layers=90, group_length=30))
    assert fit_groups(embeddings, min_group_size=40).n_groups <= 2
