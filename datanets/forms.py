"""Forms translate HTML fields into the plain values services take; the rules live in services."""

from __future__ import annotations

from django import forms

from datanets.ingest import ColumnMapping, MappingInvalid
from datanets.models import Upload

MAPPING_PARTS = ("messages", "prompt", "completion", "instruction", "input", "output", "text")


class UploadFileForm(forms.Form):
    file = forms.FileField(
        help_text="JSONL, JSON, CSV/TSV or Parquet, in the alpaca, ShareGPT, OpenAI messages, "
        "prompt/completion or text layout."
    )


class ImportChoiceForm(forms.Form):
    """The column mapping (pre-filled from detection) and what to do with rejected rows."""

    mode = forms.ChoiceField(
        choices=Upload.Mode.choices, initial=Upload.Mode.ALL_OR_NOTHING, widget=forms.RadioSelect
    )

    def __init__(self, *args, columns: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(column, column) for column in columns]
        for part in MAPPING_PARTS:
            self.fields[f"map_{part}"] = forms.ChoiceField(choices=choices, required=False, label=part)

    def mapping(self) -> ColumnMapping:
        try:
            return ColumnMapping(
                **{part: self.cleaned_data.get(f"map_{part}") or None for part in MAPPING_PARTS}
            )
        except MappingInvalid as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict:
        cleaned = super().clean()
        self.mapping()
        return cleaned


class ContributionForm(forms.Form):
    """One row by hand: a single-turn chat, a prompt/completion pair, or plain text."""

    KINDS = [
        ("messages", "Chat (system, user, assistant)"),
        ("prompt_completion", "Prompt and completion"),
        ("text", "Plain text"),
    ]
    kind = forms.ChoiceField(choices=KINDS, initial="messages")
    system = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    user = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="User message")
    assistant = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), label="Assistant answer"
    )
    prompt = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    completion = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}))

    def content(self) -> dict:
        data = self.cleaned_data
        if data["kind"] == "messages":
            messages = [{"role": "system", "content": data["system"]}] if data["system"].strip() else []
            messages += [
                {"role": "user", "content": data["user"]},
                {"role": "assistant", "content": data["assistant"]},
            ]
            return {"messages": messages}
        if data["kind"] == "prompt_completion":
            return {"prompt": data["prompt"], "completion": data["completion"]}
        return {"text": data["text"]}
