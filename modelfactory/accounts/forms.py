"""Forms parse and check the shape of what was typed; the rules about accounts live in services.py."""

from __future__ import annotations

from django import forms

from modelfactory.accounts.models import User


class SignUpForm(forms.Form):
    username = forms.CharField(
        max_length=User._meta.get_field("username").max_length,
        help_text="Letters, digits and @ . + - _ only; shown when you have not set a display name.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(
        help_text="Only for password resets.", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not a common password, not all digits, not like your username.",
    )
    password_again = forms.CharField(
        strip=False,
        label="Password (again)",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password_again") != cleaned["password"]:
            self.add_error("password_again", "The two passwords differ: type the same one twice.")
        return cleaned


class DisplayNameForm(forms.Form):
    display_name = forms.CharField(
        max_length=User._meta.get_field("display_name").max_length,
        required=False,
        help_text="How contributors and models credit you; leave it empty to show your username.",
    )
