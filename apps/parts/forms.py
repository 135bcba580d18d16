from django import forms

from apps.parts.models import PartVerdictRule


class PartVerdictRuleForm(forms.ModelForm):
    fail_kinds = forms.CharField(
        required=False,
        help_text="Defect kinds that fail a part outright, separated by commas.",
    )

    class Meta:
        model = PartVerdictRule
        fields = ["review_anomalous_layers", "fail_anomalous_layers", "fail_region_px", "fail_kinds"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance and not self.is_bound:
            self.initial["fail_kinds"] = ", ".join(self.instance.fail_kinds)

    def clean_fail_kinds(self) -> list[str]:
        return [kind.strip() for kind in self.cleaned_data["fail_kinds"].split(",") if kind.strip()]
