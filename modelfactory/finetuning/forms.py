"""Forms of the wizard: each turns HTML fields into the plain values the wizard state keeps."""

from __future__ import annotations

from collections.abc import Iterable

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


class SelectWithUnavailableOptions(forms.Select):
    """A select that lists every option but lets some not be chosen (``disabled``).

    An option this machine cannot run stays visible, so people learn it exists and why it is off,
    instead of vanishing or failing after they picked it.
    """

    def __init__(self, *args, unavailable: Iterable[str] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unavailable = set(unavailable)

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None) -> dict:
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        if str(value) in self.unavailable:
            option["attrs"]["disabled"] = True
        return option


METHOD_LABELS = {"lora": "LoRA", "qlora": "QLoRA", "dora": "DoRA"}


class MethodForm(forms.Form):
    preset = forms.ChoiceField(choices=[(p, p.capitalize()) for p in PRESETS], widget=forms.RadioSelect)
    method = forms.ChoiceField(
        choices=[(m, METHOD_LABELS.get(m, m.upper())) for m in METHODS], widget=SelectWithUnavailableOptions
    )
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
        """``qlora_reason``: why this machine cannot train QLoRA (empty when it can); the option is then
        listed but not selectable, and the page says the reason once, next to it."""
        super().__init__(*args, **kwargs)
        self.qlora_reason = qlora_reason
        if qlora_reason:
            method = self.fields["method"]
            method.choices = [
                (value, f"{label} (unavailable)" if value == "qlora" else label)
                for value, label in method.choices
            ]
            method.widget.unavailable = {"qlora"}
            method.widget.attrs["aria-describedby"] = "qlora-reason"

    def clean_method(self) -> str:
        """A disabled option cannot be chosen in a browser; a crafted or stale POST is refused here."""
        method = self.cleaned_data["method"]
        if method == "qlora" and self.qlora_reason:
            raise forms.ValidationError(self.qlora_reason)
        return method


class LaunchForm(forms.Form):
    """The review step's last choices: the job's name and how many GPUs train it.

    ``gpu_count`` is this machine's (`capabilities.detect_capabilities`): more GPUs than that cannot be
    asked for; 0 trains in the worker's own process (the CPU on a machine without CUDA).
    """

    name = forms.CharField(
        max_length=120, required=False, help_text="Defaults to the base model and datanet."
    )
    gpus = forms.TypedChoiceField(coerce=int, label="GPUs")

    def __init__(self, *args, gpu_count: int, gpu_names: Iterable[str] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gpu_count = gpu_count
        field = self.fields["gpus"]
        if gpu_count:
            field.choices = [(0, "None: one process on the worker")] + [
                (n, "1 GPU" if n == 1 else f"{n} GPUs (data parallel)") for n in range(1, gpu_count + 1)
            ]
            names = ", ".join(gpu_names)
            field.help_text = f"This machine has {gpu_count} GPU{'s' if gpu_count > 1 else ''}" + (
                f": {names}." if names else "."
            )
        else:
            field.choices = [(0, "None: train on the CPU")]
            field.help_text = "This machine has no CUDA GPU, so jobs train on the CPU."
        field.error_messages["invalid_choice"] = (
            f"this machine has {gpu_count} GPU{'' if gpu_count == 1 else 's'}: choose from 0 to {gpu_count}"
        )
