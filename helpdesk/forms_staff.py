"""Forms of the staff and administrative-unit pages: input parsing only. Who may give which
role is helpdesk.permissions' rule; the role fields offer exactly those roles."""

from typing import Any

from django import forms

from enrollment.models import EndUser, Group
from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.permissions import assignable_roles
from helpdesk.roles import Role
from helpdesk.scoping import end_user_scope_q


def _units_field() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        queryset=AdministrativeUnit.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Administrative units",
        help_text="Staff in no unit see every end user.",
    )


class StaffCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(help_text="The one-time set-up link goes to this address.")
    role = forms.ChoiceField(choices=())
    units = _units_field()

    def __init__(self, *args: Any, actor: Staff, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # As StaffRoleForm: the service refuses (and records) a role above the actor's own.
        self.fields["role"].choices = Role.choices
        self.fields["role"].widget.choices = assignable_roles(actor)


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(choices=(), label="Role")

    def __init__(self, *args: Any, actor: Staff, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any role parses, so that giving one above one's own reaches the service, which
        # refuses it and records the attempt; the page offers only the assignable ones.
        self.fields["role"].choices = Role.choices
        self.fields["role"].widget.choices = assignable_roles(actor)


class StaffUnitsForm(forms.Form):
    units = _units_field()


class StaffIdentityForm(forms.Form):
    """The staff member's own account in the directory, by its username; blank when they have
    none. The link, not a match on names, is what makes it "their own account" to every
    recovery guard."""

    username = forms.CharField(
        max_length=150,
        required=False,
        label="Their own directory account",
        help_text="Leave blank if they have no account in the directory.",
    )

    def __init__(self, *args: Any, actor: Staff, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor

    def clean_username(self) -> EndUser | None:
        username = self.cleaned_data["username"].strip()
        if not username:
            return None
        # Only among the end users the actor may see: the answer reveals nothing beyond them.
        end_user = (
            EndUser.objects.filter(end_user_scope_q(self.actor), username__iexact=username)
            .distinct()
            .first()
        )
        if end_user is None:
            raise forms.ValidationError(f"No end user named {username} in the directory.")
        return end_user


class UnitForm(forms.Form):
    name = forms.CharField(max_length=150)
    description = forms.CharField(max_length=300, required=False)
    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Groups",
        help_text="Staff bound to the unit see and act on these groups' end users only.",
    )


class StaffSetupForm(forms.Form):
    """The set-up page: a password typed twice and the authenticator app's first code."""

    password1 = forms.CharField(
        label="Choose a password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="The same password again",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    code = forms.RegexField(
        label="Six-digit code from the app",
        regex=r"^\d{6}$",
        error_messages={"invalid": "Enter the six digits the app shows."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data
