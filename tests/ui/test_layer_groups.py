import pytest
from django.urls import reverse

from apps.scoring.models import LayerGroup, LayerScore

pytestmark = pytest.mark.django_db


@pytest.fixture
def grouped_layers(machine, scored_layers):
    """The twelve scored layers: 0-5 in layer group 0, 6-11 in group 1, as two groups' rows say."""
    version = scored_layers[0].current_score.model_version
    LayerGroup.objects.create(model_version=version, index=0, centroid=[0.0], threshold=0.8,
                              threshold_source="group", calibration_method="fpr_target", n_train=300, n_holdout=110)
    LayerGroup.objects.create(model_version=version, index=1, centroid=[1.0], threshold=1.0,
                              threshold_source="global", n_train=40, n_holdout=9, calibration={"note": "too few"})
    for layer in scored_layers:
        LayerScore.objects.filter(pk=layer.current_score_id).update(layer_group=0 if layer.index < 6 else 1)
    return scored_layers


def test_it_shows_the_layer_group_on_the_layer_page(operator_session, grouped_layers):
    body = operator_session.get(reverse("ui:layer-detail", args=[grouped_layers[7].pk])).content.decode()
    assert 'data-testid="layer-group">1<' in body


def test_it_shades_the_layer_groups_on_the_job_timeline(operator_session, grouped_layers):
    body = operator_session.get(reverse("ui:job-detail", args=[grouped_layers[0].job.pk])).content.decode()
    assert body.count('class="group-band') == 2
    assert "layers 0-5: group 0" in body and "layers 6-11: group 1" in body


def test_it_draws_no_bands_for_layers_scored_without_groups(operator_session, scored_layers):
    body = operator_session.get(reverse("ui:job-detail", args=[scored_layers[0].job.pk])).content.decode()
    assert "group-band" not in body


def test_it_lists_each_versions_groups_on_the_models_page(operator_session, machine, grouped_layers):
    body = operator_session.get(reverse("ui:machine-models", args=[machine.slug])).content.decode()
    assert 'data-testid="layer-groups"' in body
    assert "fpr_target on the group" in body and "global (too few layers)" in body
