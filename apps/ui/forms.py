"""Forms behind the operator pages."""

from django import forms

from apps.alerts.models import AlertRule
from apps.alerts.validation import alert_rule_errors

RULE_FIELDS = [
    "is_active",
    "warmup_layers",
    "window_layers",
    "k_warning",
    "k_critical",
    "ewm_alpha",
    "ewm_warning",
    "ewm_critical",
    "cooldown_layers",
]


class AlertRuleForm(forms.ModelForm):
    """A machine's alert rule plus the machine's pause hook, which the rule's critical alerts call."""

    pause_on_critical = forms.BooleanField(required=False, help_text="POST to the pause URL on a critical alert.")
    pause_url = forms.URLField(
        label="Pause URL", required=False, assume_scheme="https", help_text="The printer's pause hook."
    )

    class Meta:
        model = AlertRule
        fields = RULE_FIELDS
        labels = {
            "is_active": "Active",
            "window_layers": "Window n",
            "k_warning": "k warning",
            "k_critical": "k critical",
            "ewm_alpha": "EWM alpha",
            "ewm_warning": "EWM warning",
            "ewm_critical": "EWM critical",
            "cooldown_layers": "Cooldown layers",
        }

    def clean(self):
        data = super().clean()
        for name, message in alert_rule_errors(data).items():
            self.add_error(name, message)
        if data.get("pause_on_critical") and not data.get("pause_url"):
            self.add_error("pause_url", "Give the URL to call, or switch pausing off.")
        return data

    def _post_clean(self):
        # Our own clean() reports the model's checks against the fields; skip the model's
        # duplicate, field-less message when they already failed.
        if not self.errors:
            super()._post_clean()

    def rule_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in RULE_FIELDS}
