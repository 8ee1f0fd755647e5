from django import forms

from authsim.vocab import CALLER_ACTIONS

# The device page also has a hardware token's button; it is not a caller action of
# design.md (the caller just reads the code), so it stays a page-only choice.
PRESS_TOKEN = "press_token_button"  # noqa: S105 - an action name, not a secret
FACTORS = ["auto", "push", "totp", "hotp_token", "sms", "voice", "email", "webauthn"]


class CallerActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in (*CALLER_ACTIONS, PRESS_TOKEN)])
    fraud = forms.BooleanField(required=False)
    # The request a push button was pressed on (absent: the newest on the screen).
    push = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class SignInForm(forms.Form):
    application = forms.CharField(max_length=150, required=False)
    factor = forms.ChoiceField(choices=[(f, f) for f in FACTORS], initial="auto")
    passcode = forms.CharField(max_length=16, required=False)
