from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from modelfactory.catalog.errors import PublishRefused
from modelfactory.catalog.models import BaseModel, PublishedModel
from modelfactory.ledger.open_amounts import DECIMALS, base_units, open_text, open_units

API_NAME_HELP = "Lowercase letters, digits and dashes: what API clients send as `model`."


class OpenAmountField(forms.DecimalField):
    """An amount typed in OPEN, with up to the token's 18 decimals, cleaned to whole base units (what is
    stored and summed). Empty stays None: the platform's default applies."""

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=0, decimal_places=DECIMALS, **kwargs)

    def clean(self, value) -> int | None:
        amount = super().clean(value)
        return None if amount is None else base_units(amount)


FEE_FIELDS = {
    "fee_rate_in": ("Fee per 1,000 prompt tokens (OPEN)", "MODELFACTORY_FEE_RATE_IN"),
    "fee_rate_out": ("Fee per 1,000 generated tokens (OPEN)", "MODELFACTORY_FEE_RATE_OUT"),
    "fee_platform": ("Fee per request (OPEN)", "MODELFACTORY_FEE_PLATFORM"),
}


class FeesForm(forms.Form):
    """A model's own fees in OPEN, each at most ``MODELFACTORY_FEE_MAX`` (checked again by the services)."""

    fee_rate_in = OpenAmountField(required=False)
    fee_rate_out = OpenAmountField(required=False)
    fee_platform = OpenAmountField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        most = open_units(settings.MODELFACTORY_FEE_MAX)
        for name, (label, default_setting) in FEE_FIELDS.items():
            field = self.fields[name]
            field.label = label
            field.help_text = (
                f"Empty: the platform default, {open_text(getattr(settings, default_setting))} OPEN. "
                f"At most {most:,f} OPEN."
            )
            field.validators.append(
                MaxValueValidator(
                    most, message=f"Ensure this is at most {most:,f} OPEN, the highest fee allowed."
                )
            )
            field.widget.attrs["max"] = format(most, "f")

    @staticmethod
    def initial_from(published: PublishedModel) -> dict[str, str | None]:
        """The model's stored fees (base units) as the OPEN amounts the fields show."""
        return {
            name: None if getattr(published, name) is None else open_text(getattr(published, name))
            for name in FEE_FIELDS
        }


class PublishForm(FeesForm):
    api_name = forms.SlugField(max_length=100, help_text=API_NAME_HELP, label="API name")
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    access = forms.ChoiceField(choices=PublishedModel.Access.choices)
    field_order = ("api_name", "title", "description", "access", *FEE_FIELDS)


class ModelSettingsForm(FeesForm):
    """What the owner may change once a model is published; its API name and weights stay as they are."""

    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    access = forms.ChoiceField(choices=PublishedModel.Access.choices)
    field_order = ("description", "access", *FEE_FIELDS)


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

    def preview_parts(self) -> list[tuple[PublishedModel, float]]:
        """What a merge preview needs of the form, the weighted adapters; naming comes only at saving.
        A bad method or density is a `PublishRefused` naming the field."""
        problems = [
            f"{name}: {self.errors[name][0]}" for name in ("method", "density") if name in self.errors
        ]
        if problems:
            raise PublishRefused(" ".join(problems))
        by_name = {adapter.api_name: adapter for adapter in self.adapters}
        return [(by_name[name], weight) for name, weight in self.parts()]


class GrantForm(forms.Form):
    username = forms.CharField(max_length=150)
