import pytest
from django.urls import reverse

from authsim.models import ProviderState
from enrollment.mfa import get_mfa_service
from tests.authsim.factories import world
from tests.factories import AdministrativeUnitFactory, GroupFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "admin:authsim_attempt_changelist",
    "admin:authsim_push_changelist",
    "admin:authsim_delivery_changelist",
    "admin:authsim_fraudreport_changelist",
    "admin:authsim_providerstate_changelist",
]


@pytest.mark.parametrize("name", PAGES)
def test_service_console_pages_render_for_administrators(name, administrator, client_for):
    world(user={"fraud_reported": True, "status": "pending_enrollment"}, authenticators=[])
    assert client_for(administrator).get(reverse(name)).status_code == 200


def test_provider_state_is_editable(owner, client_for):
    ProviderState.current()
    url = reverse("admin:authsim_providerstate_change", args=[1])
    data = {
        "sms_configured": "on",
        "sms_carrier_delay_seconds": "600",
        "email_healthy": "on",
        "voice_healthy": "on",
        "push_healthy": "on",
    }
    response = client_for(owner).post(url, data)
    assert response.status_code == 302
    state = ProviderState.current()
    assert (state.sms_healthy, state.sms_carrier_delay_seconds) == (False, 600)


def test_auth_log_in_the_admin_is_limited_to_the_units_groups(administrator, client_for):
    service = get_mfa_service()
    for username, group in [("inside.user", "Unit group"), ("outside.user", "Other group")]:
        user = world(username=username, user={"groups": [group]}, authenticators=[])
        service.sign_in(end_user_id=user.pk)
    AdministrativeUnitFactory(
        name="Admin unit", groups=[GroupFactory(name="Unit group")], staff=[administrator]
    )
    html = client_for(administrator).get(reverse("admin:authsim_attempt_changelist")).content
    assert b"inside.user" in html
    assert b"outside.user" not in html
