from datetime import timedelta

import pytest
from django.urls import reverse

from enrollment import clock
from enrollment.models import BypassCode, Policy
from tests.factories import (
    ActivationLinkFactory,
    AdministrativeUnitFactory,
    ApplicationFactory,
    AuthenticatorFactory,
    DeviceFactory,
    EndUserFactory,
    EnrollmentFactory,
    EnrollmentLinkFactory,
    GroupFactory,
    PolicyFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [
    "group",
    "application",
    "enduser",
    "policy",
    "device",
    "authenticator",
    "enrollment",
    "enrollmentlink",
    "activationlink",
    "bypasscode",
]


@pytest.fixture
def directory():
    sales = GroupFactory(name="Sales")
    finance = GroupFactory(name="Finance")
    ann = EndUserFactory(username="ann.sales", groups=[sales])
    cai = EndUserFactory(username="cai.finance", groups=[finance])
    for user in (ann, cai):
        authenticator = AuthenticatorFactory(end_user=user, name=f"{user.username} phone")
        EnrollmentFactory(end_user=user, authenticator=authenticator)
        EnrollmentLinkFactory(end_user=user)
        ActivationLinkFactory(authenticator=authenticator)
        now = clock.now()
        BypassCode.objects.create(
            end_user=user, code_hash="hash", created_at=now, expires_at=now + timedelta(hours=1)
        )
    PolicyFactory(scope="global")
    PolicyFactory(scope="application", application=ApplicationFactory(name="VPN"))
    PolicyFactory(scope="group", group=sales)
    return {"sales": sales, "ann": ann, "cai": cai}


@pytest.mark.parametrize("model", MODELS)
def test_owner_sees_every_directory_changelist(model, directory, owner, client_for):
    response = client_for(owner).get(reverse(f"admin:enrollment_{model}_changelist"))

    assert response.status_code == 200


def test_end_user_search_finds_by_email(directory, owner, client_for):
    response = client_for(owner).get(
        reverse("admin:enrollment_enduser_changelist"), {"q": "cai.finance@example"}
    )

    assert [user.username for user in response.context["cl"].result_list] == ["cai.finance"]


def test_unit_bound_administrator_sees_only_their_units_end_users(
    directory, administrator, client_for
):
    AdministrativeUnitFactory(name="Sales unit", groups=[directory["sales"]], staff=[administrator])
    client = client_for(administrator)

    listed = {
        model: [
            str(row)
            for row in client.get(reverse(f"admin:enrollment_{model}_changelist"))
            .context["cl"]
            .result_list
        ]
        for model in ("enduser", "device", "authenticator")
    }
    hidden = client.get(reverse("admin:enrollment_enduser_change", args=[directory["cai"].pk]))

    assert listed["enduser"] == ["ann.sales"]
    assert len(listed["device"]) == 1
    assert listed["authenticator"] == ["Push: ann.sales phone"]
    # The admin treats an out-of-scope record as missing: back to the index.
    assert hidden.status_code == 302
    assert hidden["Location"] == reverse("admin:index")


def test_bypass_codes_cannot_be_added_or_changed_in_the_admin(directory, owner, client_for):
    client = client_for(owner)
    code = BypassCode.objects.filter(end_user=directory["ann"]).get()

    add = client.get(reverse("admin:enrollment_bypasscode_add"))
    change = client.post(
        reverse("admin:enrollment_bypasscode_change", args=[code.pk]), {"reason": "edited"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    code.refresh_from_db()
    assert code.reason == ""


def test_technician_cannot_open_the_directory_admin(technician, client_for):
    response = client_for(technician).get(reverse("admin:enrollment_enduser_changelist"))

    assert response.status_code == 403


def test_device_admin_lists_devices_with_their_owner(owner, client_for):
    DeviceFactory(name="Dana's iPhone", end_user=EndUserFactory(username="dana"))

    response = client_for(owner).get(reverse("admin:enrollment_device_changelist"))

    assert "Dana&#x27;s iPhone" in response.content.decode()
    assert "dana" in response.content.decode()


def _policy_form(**values) -> dict:
    form = {
        "scope": "global",
        "priority": "100",
        "description": "",
        "mfa_enabled": "unknown",
        "allow_fallback": "unknown",
        "enrollment_required": "unknown",
        "allowed_methods": "",
        "min_os_versions": "",
    }
    form.update(values)
    return form


def test_policy_admin_is_read_only_policies_change_on_the_policy_pages(owner, client_for):
    client = client_for(owner)

    response = client.post(
        reverse("admin:enrollment_policy_add"),
        _policy_form(allowed_methods='["totp", "sms"]', mfa_enabled="false"),
    )

    assert response.status_code == 403
    assert Policy.objects.count() == 0
