from __future__ import annotations

from django import forms

from modelfactory.catalog.models import BaseModel, PublishedModel

API_NAME_HELP = "Lowercase letters, digits and dashes: what API clients send as `model`."


class PublishForm(forms.Form):
    api_name = forms.SlugField(max_length=100, help_text=API_NAME_HELP, label="API name")
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    access = forms.ChoiceField(choices=PublishedModel.Access.choices)
    fee_rate_in = forms.IntegerField(
        required=False,
        min_value=0,
        label="Fee per 1,000 prompt tokens (OPEN units)",
        help_text="Empty: the platform default.",
    )
    fee_rate_out = forms.IntegerField(required=False, min_value=0, label="Fee per 1,000 generated tokens")
    fee_platform = forms.IntegerField(required=False, min_value=0, label="Platform fee per request")


class ImportForm(PublishForm):
    base_model = forms.ModelChoiceField(queryset=BaseModel.objects.all(), empty_label=None)
    file = forms.FileField(
        help_text="A zip of a PEFT adapter folder: adapter_config.json + adapter_model.safetensors."
    )


class CompositeForm(PublishForm):
    method = forms.ChoiceField(
        choices=[
            ("linear", "Linear"),
            ("ties", "TIES"),
            ("dare_linear", "DARE (linear)"),
            ("dare_ties", "DARE (TIES)"),
        ]
    )
    density = forms.FloatField(
        min_value=0.05,
        max_value=1.0,
        initial=1.0,
        help_text="Share of each adapter's weights kept by TIES/DARE.",
    )

    def __init__(self, *args, adapters=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.adapters = list(adapters)
        for adapter in self.adapters:
            self.fields[f"weight_{adapter.api_name}"] = forms.FloatField(
                required=False,
                min_value=0,
                max_value=10,
                label=adapter.title,
                widget=forms.NumberInput(attrs={"step": "0.1", "aria-label": f"Weight of {adapter.title}"}),
            )

    def parts(self) -> list[tuple[str, float]]:
        return [
            (a.api_name, self.cleaned_data[f"weight_{a.api_name}"])
            for a in self.adapters
            if self.cleaned_data.get(f"weight_{a.api_name}")
        ]


class GrantForm(forms.Form):
    username = forms.CharField(max_length=150)
