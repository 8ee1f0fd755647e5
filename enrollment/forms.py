"""Input parsing for the recovery actions panel and the approvals queue.

Forms only parse. Every rule (a reason is required, caps, which numbers may be called back)
is the services' to enforce, so a refused request is recorded on the ticket whichever way it
arrived; that is why `reason` is not required here.
"""

from django import forms

from enrollment.enums import ApprovalKind
from helpdesk.form_fields import id_field


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False, strip=True)


class BypassIssueForm(ReasonForm):
    count = forms.IntegerField(min_value=1, max_value=100, required=False)
    valid_minutes = forms.IntegerField(min_value=1, max_value=100_000, required=False)


class AuthenticatorForm(ReasonForm):
    authenticator = id_field()


class ResyncForm(AuthenticatorForm):
    first_code = forms.CharField(max_length=12)
    second_code = forms.CharField(max_length=12)


class DeviceForm(ReasonForm):
    device = id_field()


class PushForm(forms.Form):
    device = id_field()


class CallbackForm(forms.Form):
    phone_number = forms.CharField(max_length=64)
    confirmed = forms.BooleanField(required=False)


class ApprovalRequestForm(ReasonForm):
    kind = forms.ChoiceField(choices=ApprovalKind.choices)
    action = forms.CharField(max_length=64, required=False)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Deny")])
    reason = forms.CharField(max_length=300, required=False, strip=True)


class EscalateSecurityForm(forms.Form):
    reason = forms.CharField(max_length=500, strip=True)
