import numpy as np

from ml.change.keys import parts_keys
from ml.groups import embed_layers
from ml.layout_memory.scoring import (
    MEMORY_DEPTH,
    MEMORY_LEARN_LIMIT,
    layout_memory_chain,
    layout_memory_learns,
    layout_memory_scores,
    layout_memory_trace,
)
from ml.synthetic import generate_job


def _layout_embeddings(count: int) -> np.ndarray:
    """Standardised embeddings of `count` unrelated layouts (as ml.groups.embed_layers gives)."""
    vectors = np.random.default_rng(1).standard_normal((count, 784))
    vectors -= vectors.mean(axis=1, keepdims=True)
    return (vectors / vectors.std(axis=1, keepdims=True)).astype(np.float32)


def test_layout_memory_forgets_a_new_layouts_part_from_its_second_layer_and_a_defect_after_depth_layers():
    heatmaps = np.zeros((12, 64, 64), dtype=np.float32)
    heatmaps[:, 20, 20] = 8.0  # a part the model reconstructs badly, on every layer of the layout
    heatmaps[5:, 40, 30] = 6.0  # a defect from layer 5 on
    embeddings = np.repeat(_layout_embeddings(1), 12, axis=0)
    scores = layout_memory_scores(heatmaps, embeddings, top_fraction=0.0)
    assert scores[0] == 8.0  # the layout's first layer: its own score
    assert scores[1:5].tolist() == [0.0] * 4
    assert scores[5 : 5 + MEMORY_DEPTH].tolist() == [6.0] * MEMORY_DEPTH  # seen for MEMORY_DEPTH layers...
    assert scores[5 + MEMORY_DEPTH :].tolist() == [0.0] * (7 - MEMORY_DEPTH)  # ...then part of the layout


def test_layout_memory_starts_afresh_when_the_layout_changes():
    heatmaps = np.zeros((8, 32, 32), dtype=np.float32)
    heatmaps[:4, 5, 5] = 7.0  # the old layout's part
    heatmaps[4:, 20, 20] = 5.0  # the new layout's part
    old, new = _layout_embeddings(2)
    embeddings = np.stack([old] * 4 + [new] * 4)
    scores = layout_memory_scores(heatmaps, embeddings, top_fraction=0.0)
    assert scores.tolist() == [7.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0]


def test_layout_memory_forgives_a_part_edge_that_moved_two_pixels():
    heatmaps = np.zeros((2, 32, 32), dtype=np.float32)
    heatmaps[0, 10, 5:25] = 4.0
    heatmaps[1, 12, 5:25] = 4.0
    embeddings = np.repeat(_layout_embeddings(1), 2, axis=0)
    assert layout_memory_scores(heatmaps, embeddings, top_fraction=0.0)[1] == 0.0


def test_layout_memory_chain_stops_at_a_missing_layer():
    embedding = _layout_embeddings(1)[0]
    trace = layout_memory_trace(np.ones((8, 8), dtype=np.float32))
    assert layout_memory_chain(10, embedding, [(9, embedding, trace), (8, embedding, trace)]) == [trace, trace]
    assert layout_memory_chain(10, embedding, [(8, embedding, trace)]) == []


def test_stated_layouts_decide_over_embeddings_where_both_layers_have_one():
    same, other = _layout_embeddings(2)
    trace = layout_memory_trace(np.ones((8, 8), dtype=np.float32))
    earlier = [(9, other, trace), (8, other, trace)]
    assert layout_memory_chain(10, same, earlier) == []
    assert layout_memory_chain(10, same, earlier, stated_layout="A", stated_layouts={9: "A", 8: "A"}) == [trace, trace]
    assert layout_memory_chain(10, same, earlier, stated_layout="A", stated_layouts={9: "A", 8: "B"}) == [trace]
    # Layer 8 stated no layout: its embedding decides against layer 9's.
    assert layout_memory_chain(10, same, earlier, stated_layout="A", stated_layouts={9: "A"}) == [trace, trace]


def test_layout_memory_goes_on_where_a_part_finished_while_the_others_went_on_but_not_where_new_parts_came():
    finish, new_group = 22, 30  # seed 201's first part is done on layer 22; new parts come on 30
    layers = generate_job(seed=201, n_layers=new_group + 1, machine_seed=1, parts_finish_early=True)
    images = np.stack([layer.image for layer in layers]).astype(np.float32) / 255
    embeddings, keys = embed_layers(images), parts_keys(images)
    trace = layout_memory_trace(np.ones((8, 8), dtype=np.float32))

    def chain(index: int, **kwargs) -> list:
        earlier = [(i, embeddings[i], trace) for i in range(index - 4, index)]
        return layout_memory_chain(index, embeddings[index], earlier, **kwargs)

    all_keys = dict(enumerate(keys))
    assert chain(finish) == []  # the embedding takes the finish for a new layout
    assert len(chain(finish, parts_key=keys[finish], parts_keys=all_keys)) == 4
    # Without the earlier layers' keys (the change channel was off), the embeddings decide.
    assert chain(finish, parts_key=keys[finish]) == []
    assert chain(new_group, parts_key=keys[new_group], parts_keys=all_keys) == []


def test_layout_memory_never_scores_above_the_layer_itself():
    heatmaps = np.random.default_rng(0).gamma(2.0, 1.0, (10, 32, 32)).astype(np.float32)
    embeddings = np.repeat(_layout_embeddings(1), 10, axis=0)
    memory = layout_memory_scores(heatmaps, embeddings, top_fraction=0.01)
    assert (memory <= layout_memory_scores(heatmaps, _layout_embeddings(10), top_fraction=0.01)).all()


def test_layout_memory_does_not_learn_from_a_layer_far_over_its_threshold():
    heatmaps = np.zeros((10, 64, 64), dtype=np.float32)
    heatmaps[:, 20, 20] = 2.0  # a part the model reconstructs badly
    heatmaps[3:, 40, 30] = 9.0  # a strong defect from layer 3 on
    embeddings = np.repeat(_layout_embeddings(1), 10, axis=0)
    per_layer = heatmaps.max(axis=(1, 2))
    threshold = 9.0 / (MEMORY_LEARN_LIMIT + 0.5)  # the defect's layers score over the limit
    scores = layout_memory_scores(heatmaps, embeddings, top_fraction=0.0, scores=per_layer, threshold=threshold)
    assert scores[1:3].tolist() == [0.0, 0.0]
    # The defect's layers teach the memory nothing: each keeps its full score, however long it lasts.
    assert scores[3:].tolist() == [9.0] * 7
    assert layout_memory_learns(MEMORY_LEARN_LIMIT * threshold, threshold)
    assert not layout_memory_learns(1.01 * MEMORY_LEARN_LIMIT * threshold, threshold)
