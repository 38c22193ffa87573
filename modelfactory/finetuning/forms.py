"""Forms of the wizard: each turns HTML fields into the plain values the wizard state keeps."""

from __future__ import annotations

from django import forms

from modelfactory.catalog.models import BaseModel
from modelfactory.finetuning.training.spec import METHODS, PRESETS, SCHEDULERS, TARGET_MODULE_CHOICES


class BaseModelForm(forms.Form):
    base_model = forms.ModelChoiceField(
        queryset=BaseModel.objects.all(), widget=forms.RadioSelect, empty_label=None
    )


class DataForm(forms.Form):
    """One version choice per datanet (blank = not used) and the share held out for evaluation."""

    eval_percent = forms.IntegerField(
        min_value=0, max_value=50, initial=10, label="Held out for evaluation (%)"
    )

    def __init__(self, *args, datanets=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.datanets = datanets
        for datanet, versions in datanets:
            self.fields[f"version_{datanet.pk}"] = forms.ChoiceField(
                required=False,
                label=datanet.title,
                widget=forms.Select(attrs={"aria-label": datanet.title}),
                choices=[("", "Not used")] + [(v.pk, f"v{v.number} · {v.row_count} rows") for v in versions],
            )

    def clean(self) -> dict:
        cleaned = super().clean()
        chosen = [int(value) for key, value in cleaned.items() if key.startswith("version_") and value]
        if not chosen:
            raise forms.ValidationError("Choose a version of at least one datanet to train on.")
        cleaned["version_ids"] = chosen
        return cleaned


class MethodForm(forms.Form):
    preset = forms.ChoiceField(choices=[(p, p.capitalize()) for p in PRESETS], widget=forms.RadioSelect)
    method = forms.ChoiceField(choices=[(m, m.upper() if m != "dora" else "DoRA") for m in METHODS])
    rank = forms.IntegerField(min_value=1, max_value=1024)
    alpha = forms.IntegerField(min_value=1, max_value=4096)
    dropout = forms.FloatField(min_value=0, max_value=0.9)
    target_modules = forms.ChoiceField(
        choices=[
            ("auto", "Attention + MLP (recommended)")
            if c == "auto"
            else (c, c.replace("_", " + ").capitalize())
            for c in TARGET_MODULE_CHOICES
        ]
    )
    learning_rate = forms.FloatField(min_value=1e-7, max_value=1.0)
    scheduler = forms.ChoiceField(choices=[(s, s.replace("_", " ")) for s in SCHEDULERS])
    epochs = forms.FloatField(min_value=0.01, max_value=100)
    max_steps = forms.IntegerField(min_value=1, required=False, help_text="Overrides epochs when set.")
    batch_size = forms.IntegerField(min_value=1, max_value=4096)
    max_seq_length = forms.IntegerField(min_value=16, max_value=1_048_576, label="Max sequence length")
    packing = forms.BooleanField(required=False)

    ADVANCED = (
        "method",
        "rank",
        "alpha",
        "dropout",
        "target_modules",
        "learning_rate",
        "scheduler",
        "epochs",
        "max_steps",
        "batch_size",
        "max_seq_length",
        "packing",
    )

    def __init__(self, *args, qlora_reason: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.qlora_reason = qlora_reason

    def clean_method(self) -> str:
        method = self.cleaned_data["method"]
        if method == "qlora" and self.qlora_reason:
            raise forms.ValidationError(self.qlora_reason)
        return method


class LaunchForm(forms.Form):
    name = forms.CharField(
        max_length=120, required=False, help_text="Defaults to the base model and datanet."
    )
