"""Forms translate HTML fields into the plain values services take; the rules live in services."""

from __future__ import annotations

import re

from django import forms

from datanets.ingest import ColumnMapping, MappingInvalid
from datanets.models import Datanet, Row, Upload

LICENSES = [
    ("CC-BY-4.0", "CC BY 4.0 (credit the contributors)"),
    ("CC-BY-SA-4.0", "CC BY-SA 4.0 (credit, share alike)"),
    ("CC0-1.0", "CC0 1.0 (public domain)"),
    ("CC-BY-NC-4.0", "CC BY-NC 4.0 (credit, non-commercial)"),
    ("ODC-BY-1.0", "ODC-By 1.0 (open data, credit)"),
    ("MIT", "MIT"),
    ("Apache-2.0", "Apache 2.0"),
]


def _split_list(value: str) -> list[str]:
    """ "a, b\nc" as ["a", "b", "c"]: people type lists with commas, newlines or both."""
    return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]


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


class DatanetForm(forms.Form):
    """A datanet's details as the owner types them; creating also offers a slug (blank: proposed)."""

    title = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=80,
        required=False,
        help_text="The datanet's address, /datanets/<slug>/. Leave it blank to use the one proposed "
        "from the title. It cannot change later.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    tags = forms.CharField(
        required=False, max_length=400, help_text="Separated by commas, for example: support, lamps."
    )
    license = forms.ChoiceField(choices=LICENSES, initial="CC-BY-4.0")
    expected_format = forms.ChoiceField(
        label="Row format",
        choices=Row.Format.choices,
        initial=Row.Format.MESSAGES,
        help_text="Every row must have this format; rows of another format are refused with the reason.",
    )
    visibility = forms.ChoiceField(
        choices=Datanet.Visibility.choices,
        initial=Datanet.Visibility.PUBLIC,
        widget=forms.RadioSelect,
        help_text="Permissioned: only you, your reviewers and the people you approve read and train on it.",
    )

    def __init__(self, *args, datanet: Datanet | None = None, **kwargs) -> None:
        if datanet is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": datanet.title,
                    "description": datanet.description,
                    "tags": ", ".join(datanet.tags),
                    "license": datanet.license,
                    "expected_format": datanet.expected_format,
                    "visibility": datanet.visibility,
                },
            )
        super().__init__(*args, **kwargs)
        if datanet is not None:
            del self.fields["slug"]  # the slug is the datanet's address for receipts: it never changes
            if datanet.license not in dict(LICENSES):
                self.fields["license"].choices = [(datanet.license, datanet.license), *LICENSES]
            if not datanet.expected_format:
                self.fields["expected_format"].choices = [
                    ("", "Any format (not checked)"),
                    *Row.Format.choices,
                ]
                self.fields["expected_format"].required = False

    def values(self) -> dict:
        """The cleaned fields as the services take them."""
        data = dict(self.cleaned_data)
        data["tags"] = _split_list(data.get("tags", ""))
        return data


class ReviewingForm(forms.Form):
    """Who reviews besides the owner, and whose rows are approved on arrival, as lists of usernames."""

    reviewers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Usernames, separated by commas or new lines. They may approve and reject pending rows.",
    )
    auto_approved = forms.CharField(
        label="Auto-approved contributors",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Usernames whose new rows skip the review queue, like yours.",
    )

    def usernames(self) -> dict[str, list[str]]:
        return {
            "reviewers": _split_list(self.cleaned_data["reviewers"]),
            "auto_approved": _split_list(self.cleaned_data["auto_approved"]),
        }
