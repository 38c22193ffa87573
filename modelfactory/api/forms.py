"""The one field a person chooses for a new key."""

from __future__ import annotations

from django import forms


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="Where the key is used, e.g. “laptop notebook” or “eval script”."
    )
