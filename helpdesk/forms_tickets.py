"""Input parsing for ticket and audit views. Validation only: services decide the rest."""

from django import forms

from helpdesk.enums import (
    DEDICATED_TRANSITIONS,
    Category,
    Channel,
    EventKind,
    Outcome,
    Priority,
    RootCause,
    TicketStatus,
    Tier,
)
from helpdesk.form_fields import BoundedDateField, id_field
from helpdesk.selectors import QUEUES, AuditQuery, QueueQuery


def _blank(choices: list[tuple[str, str]], label: str) -> list[tuple[str, str]]:
    return [("", label), *choices]


class QueueFilterForm(forms.Form):
    queue = forms.ChoiceField(choices=list(QUEUES.items()), required=False)
    status = forms.ChoiceField(choices=_blank(TicketStatus.choices, "Any status"), required=False)
    category = forms.ChoiceField(choices=_blank(Category.choices, "Any category"), required=False)
    priority = forms.ChoiceField(choices=_blank(Priority.choices, "Any priority"), required=False)
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Number, user or subject"}),
    )
    after = id_field(required=False, widget=forms.HiddenInput, label="Page position")

    def to_query(self) -> QueueQuery:
        # An invalid field is dropped (and shown with its message); the valid ones still apply.
        self.is_valid()
        data = self.cleaned_data
        return QueueQuery(
            queue=data.get("queue") or "open",
            status=data.get("status") or "",
            category=data.get("category") or "",
            priority=data.get("priority") or "",
            q=(data.get("q") or "").strip(),
            after=data.get("after"),
        )


class TicketOpenForm(forms.Form):
    subject = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=Category.choices)
    channel = forms.ChoiceField(choices=Channel.choices)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    assign_to_me = forms.BooleanField(required=False, initial=True, label="Assign to me")


class _Versioned(forms.Form):
    # The ticket version the page was rendered from: a stale one is refused by the service.
    version = id_field(widget=forms.HiddenInput)


class TicketAssignForm(_Versioned):
    assignee = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)

    def __init__(self, *args, assignee_choices: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [
            ("", "Unassigned"),
            *assignee_choices,
        ]


class TicketStatusForm(_Versioned):
    status = forms.ChoiceField(
        choices=[c for c in TicketStatus.choices if c[0] not in DEDICATED_TRANSITIONS]
    )
    note = forms.CharField(max_length=500, required=False)


class TicketEscalateForm(_Versioned):
    to_tier = forms.TypedChoiceField(
        coerce=int, choices=[c for c in Tier.choices if c[0] > Tier.L1], initial=Tier.L2
    )
    reason = forms.CharField(max_length=500)


class TicketResolveForm(_Versioned):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    root_causes = forms.MultipleChoiceField(choices=RootCause.choices, required=False)
    note = forms.CharField(max_length=500, required=False)


class TicketCommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class AuditFilterForm(forms.Form):
    actor = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Technician")
    end_user = forms.CharField(required=False, max_length=150, label="End user (username)")
    kind = forms.ChoiceField(choices=_blank(EventKind.choices, "Any action"), required=False)
    date_from = BoundedDateField(required=False, label="From")
    date_to = BoundedDateField(required=False, label="To")
    ticket = id_field(required=False, label="Ticket number")
    after = id_field(required=False, widget=forms.HiddenInput, label="Page position")

    def __init__(self, *args, actor_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [
            ("", "Anyone"),
            *[(s.pk, s.get_full_name() or s.username) for s in actor_choices],
        ]

    def to_query(self) -> AuditQuery:
        # An invalid field is dropped (and shown with its message); the valid ones still apply.
        self.is_valid()
        data = self.cleaned_data
        return AuditQuery(
            actor=data.get("actor"),
            end_user=(data.get("end_user") or "").strip(),
            kind=data.get("kind") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            ticket=data.get("ticket"),
            after=data.get("after"),
        )
