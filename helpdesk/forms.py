from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest


class LoginForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    error_messages = {
        "invalid": "That username and password do not match an active staff account.",
        "locked": "Too many failed sign-ins for this account from your address. "
        "Wait {minutes} minutes and try again, or ask an administrator to unlock it.",
    }

    def __init__(self, request: HttpRequest, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        username, password = cleaned.get("username"), cleaned.get("password")
        if username and password:
            self.user = authenticate(self.request, username=username, password=password)
            if getattr(self.request, "axes_locked_out", False):
                from django.conf import settings

                minutes = round(settings.AXES_COOLOFF_TIME * 60)
                raise forms.ValidationError(
                    self.error_messages["locked"].format(minutes=minutes), code="locked"
                )
            if self.user is None or not self.user.is_active:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return cleaned


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Six-digit code",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip()
        if not token.isdigit():
            raise forms.ValidationError("Enter the six digits your authenticator app shows.")
        return token
