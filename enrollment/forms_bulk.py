"""Forms of the bulk enrollment pages: the pending list's filters, and starting a job."""

from django import forms

from enrollment.bulk import (
    LINK_EXPIRED,
    LINK_NONE,
    LINK_VALID,
    NO_ENROLLMENT,
    PendingFilter,
    filter_choices,
)
from enrollment.enums import BulkAction, EnrollmentStage
from helpdesk.form_fields import BoundedDateField, id_field
from helpdesk.models import Staff
from helpdesk.reasons import reason_problem

STAGE_CHOICES = [
    ("", "Any stage"),
    (NO_ENROLLMENT, "Not started"),
    *EnrollmentStage.choices,
]
LINK_CHOICES = [
    ("", "Any"),
    (LINK_VALID, "Still valid"),
    (LINK_EXPIRED, "Expired"),
    (LINK_NONE, "No link yet"),
]


class BulkFilterForm(forms.Form):
    """The list's filters. The group choices are the viewer's own units' groups, so a
    bound administrator cannot even name a group outside them."""

    group = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any group")
    application = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Any application",
        help_text="End users who may sign in to it (its permitted groups, if it has some).",
    )
    invited_before = BoundedDateField(required=False, label="First invited before")
    stage = forms.ChoiceField(choices=STAGE_CHOICES, required=False, label="Stage reached")
    link = forms.ChoiceField(choices=LINK_CHOICES, required=False, label="Enrollment link")

    def __init__(self, *args, staff: Staff, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        groups, applications = filter_choices(staff)
        self.fields["group"].queryset = groups
        self.fields["application"].queryset = applications

    def to_filter(self) -> PendingFilter:
        data = self.cleaned_data
        return PendingFilter(
            group_id=data["group"].pk if data.get("group") else None,
            application_id=data["application"].pk if data.get("application") else None,
            invited_before=data.get("invited_before"),
            stage=data.get("stage") or "",
            link=data.get("link") or "",
        )


class BulkStartForm(BulkFilterForm):
    """Starting a job for the filtered list: what to do, why, and the count confirmed."""

    action = forms.ChoiceField(choices=BulkAction.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        max_length=300, help_text="Recorded in the audit trail with every end user's result."
    )
    confirmed_count = id_field(min_value=0, widget=forms.HiddenInput)
    confirm = forms.BooleanField(
        label="I checked the list and the number of end users it reaches.",
        error_messages={"required": "Tick the box to confirm the number of end users."},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        problem = reason_problem(reason)
        if problem:
            raise forms.ValidationError(problem)
        return reason
