"""The policy pages over HTTP: list, create, edit (errors re-rendered with nothing lost),
delete, the cost advisory, and the "what applies to this user" explorer."""

import pytest
from django.urls import reverse

from enrollment.mfa import get_mfa_service
from enrollment.models import Policy
from helpdesk.models import TicketEvent
from tests.authsim.factories import world
from tests.conftest import make_staff
from tests.factories import (
    AdministrativeUnitFactory,
    ApplicationFactory,
    EndUserFactory,
    GroupFactory,
    PolicyFactory,
)

pytestmark = pytest.mark.django_db

EDIT = "enrollment:policy-edit"


def _edit_url(policy: Policy) -> str:
    return reverse(EDIT, kwargs={"pk": policy.pk})


def test_list_shows_each_scope_and_the_settings_it_sets(client_for, administrator):
    PolicyFactory(scope="global", resend_limit=2)
    PolicyFactory(scope="application", application=ApplicationFactory(name="VPN"))
    PolicyFactory(scope="group", group=GroupFactory(name="Contractors"), priority=7)

    response = client_for(administrator).get(reverse("enrollment:policy-list"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Resend limit: 2" in body
    assert "Application: VPN" in body
    assert "Group: Contractors" in body


def test_list_without_a_global_policy_offers_to_set_one_up(client_for, administrator):
    response = client_for(administrator).get(reverse("enrollment:policy-list"))
    assert "Set up the global policy" in response.content.decode()


def test_list_query_count_is_the_same_for_one_and_several_policies(
    client_for, administrator, django_assert_num_queries
):
    client = client_for(administrator)
    url = reverse("enrollment:policy-list")
    kiosk = GroupFactory(name="Kiosk")
    PolicyFactory(scope="global", sets_exempt_groups=True, exempt_groups=[kiosk])
    client.get(url)  # warm the session
    with django_assert_num_queries(9):
        client.get(url)
    for n in range(3):
        PolicyFactory(
            scope="application",
            application=ApplicationFactory(name=f"App {n}"),
            sets_permitted_groups=True,
            permitted_groups=[kiosk],
        )
        PolicyFactory(scope="group", group=GroupFactory(name=f"G{n}"), resend_limit=n)
    with django_assert_num_queries(9):
        client.get(url)


def test_cost_advisory_appears_on_the_policy_pages(client_for, administrator):
    policy = PolicyFactory(scope="global", default_method="sms", resend_limit=10)
    client = client_for(administrator)

    list_body = client.get(reverse("enrollment:policy-list")).content.decode()
    edit_body = client.get(_edit_url(policy)).content.decode()

    for body in (list_body, edit_body):
        assert "Cost advisory" in body
        assert "SMS is the default method" in body
        assert "Resends are not capped tightly" in body
        assert "Every sign-in asks for a second factor" in body


def test_cost_advisory_skips_an_application_whose_policy_turns_mfa_off(client_for, administrator):
    PolicyFactory(scope="global", default_method="sms")
    PolicyFactory(
        scope="application", application=ApplicationFactory(name="Intranet"), mfa_enabled=False
    )
    PolicyFactory(scope="application", application=ApplicationFactory(name="Payroll"))
    body = client_for(administrator).get(reverse("enrollment:policy-list")).content.decode()
    advisory = body.split('class="card policy-advisory"', 1)[1].split("</section>", 1)[0]
    assert "SMS is the default method" in advisory
    assert "Payroll" in advisory
    assert "Intranet" not in advisory


def test_no_cost_advisory_when_nothing_costs(client_for, administrator):
    PolicyFactory(scope="global", allowed_methods=["push", "totp"])
    body = client_for(administrator).get(reverse("enrollment:policy-list")).content.decode()
    assert "Cost advisory" not in body


def test_edit_saves_records_and_redirects(client_for, administrator):
    policy = PolicyFactory(scope="global")
    client = client_for(administrator)

    response = client.post(
        _edit_url(policy),
        {"allowed_methods": ["push", "totp"], "resend_limit": "2", "mfa_enabled": "true"},
    )

    assert (response.status_code, response["Location"]) == (302, _edit_url(policy))
    policy.refresh_from_db()
    assert (policy.allowed_methods, policy.resend_limit, policy.mfa_enabled) == (
        ["push", "totp"],
        2,
        True,
    )
    event = TicketEvent.objects.get(kind="admin.policy_changed")
    assert event.payload["changes"]["allowed_methods"] == {"old": None, "new": ["push", "totp"]}
    page = client.get(_edit_url(policy)).content.decode()
    assert "it applies from the next sign-in" in page


def test_the_push_timeout_is_edited_like_any_setting(client_for, administrator):
    policy = PolicyFactory(scope="global")
    client = client_for(administrator)
    page = client.get(_edit_url(policy)).content.decode()
    assert "Push timeout (seconds)" in page
    assert "60 (from default)" in page

    refused = client.post(_edit_url(policy), {"push_timeout_seconds": "5"})
    assert refused.status_code == 200
    assert "greater than or equal to 10" in refused.content.decode()
    policy.refresh_from_db()
    assert policy.push_timeout_seconds is None

    client.post(_edit_url(policy), {"push_timeout_seconds": "90"})
    policy.refresh_from_db()
    assert policy.push_timeout_seconds == 90
    event = TicketEvent.objects.get(kind="admin.policy_changed")
    assert event.payload["changes"]["push_timeout_seconds"] == {"old": None, "new": 90}


def test_saving_unchanged_says_so_and_records_nothing(client_for, administrator):
    policy = PolicyFactory(scope="global", resend_limit=2)
    client = client_for(administrator)

    response = client.post(_edit_url(policy), {"resend_limit": "2"}, follow=True)

    assert "Nothing changed." in response.content.decode()
    assert TicketEvent.objects.filter(kind="admin.policy_changed").count() == 0


def test_invalid_edit_rerenders_with_field_errors_and_keeps_every_value(client_for, administrator):
    kiosk = GroupFactory(name="Kiosk")
    policy = PolicyFactory(scope="global", resend_limit=3)
    data = {
        "description": "Tightened after audit",
        "allowed_methods": ["push", "totp"],
        "default_method": "sms",
        "resend_limit": "-2",
        "min_app_version": "4.x",
        "min_os_ios": "latest",
        "exempt_groups": [kiosk.pk],
        "permitted_groups": [kiosk.pk],
        "code_timeout_seconds": "120",
    }

    response = client_for(administrator).post(_edit_url(policy), data)

    assert response.status_code == 200
    form = response.context["form"]
    assert sorted(form.errors) == ["min_app_version", "min_os_ios", "resend_limit"]
    body = response.content.decode()
    assert "Cannot be negative." in body
    assert "“4.x” is not a version" in body
    # Nothing typed is lost.
    assert 'value="Tightened after audit"' in body
    assert 'value="120"' in body
    assert 'value="latest"' in body
    policy.refresh_from_db()
    assert policy.resend_limit == 3


def test_service_errors_land_on_their_fields(client_for, administrator):
    kiosk = GroupFactory(name="Kiosk")
    policy = PolicyFactory(scope="global")
    client = client_for(administrator)

    response = client.post(
        _edit_url(policy),
        {
            "allowed_methods": ["push", "totp"],
            "default_method": "sms",
            "exempt_groups": [kiosk.pk],
            "permitted_groups": [kiosk.pk],
            "code_timeout_seconds": "120",
        },
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert sorted(form.errors) == ["default_method", "exempt_groups"]
    assert 'value="120"' in response.content.decode()
    assert TicketEvent.objects.filter(kind="admin.policy_changed").count() == 0


def test_fallback_error_over_http(client_for, administrator):
    policy = PolicyFactory(scope="global")
    response = client_for(administrator).post(
        _edit_url(policy), {"allowed_methods": ["push"], "allow_fallback": "true"}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["allow_fallback"]


def test_create_application_policy(client_for, administrator):
    vpn = ApplicationFactory(name="VPN")
    client = client_for(administrator)
    assert client.get(reverse("enrollment:policy-create") + "?scope=application").status_code == 200

    response = client.post(
        reverse("enrollment:policy-create"),
        {"scope": "application", "application": vpn.pk, "mfa_enabled": "false"},
    )

    policy = Policy.objects.get(application=vpn)
    assert response["Location"] == _edit_url(policy)
    assert policy.mfa_enabled is False


def test_create_application_policy_without_application_is_refused(client_for, administrator):
    response = client_for(administrator).post(
        reverse("enrollment:policy-create"), {"scope": "application", "resend_limit": "1"}
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["application"]
    assert 'value="1"' in response.content.decode()


def test_global_policy_has_no_delete_button_and_refuses_deletion(client_for, administrator):
    policy = PolicyFactory(scope="global")
    client = client_for(administrator)
    assert "Delete policy" not in client.get(_edit_url(policy)).content.decode()

    response = client.post(reverse("enrollment:policy-delete", kwargs={"pk": policy.pk}))

    assert response["Location"] == _edit_url(policy)
    assert Policy.objects.filter(pk=policy.pk).exists()


def test_delete_group_policy(client_for, administrator):
    policy = PolicyFactory(scope="group", group=GroupFactory(name="Sales"))
    response = client_for(administrator).post(
        reverse("enrollment:policy-delete", kwargs={"pk": policy.pk})
    )
    assert response["Location"] == reverse("enrollment:policy-list")
    assert not Policy.objects.filter(pk=policy.pk).exists()


def test_unknown_policy_is_404(client_for, administrator):
    assert client_for(administrator).get(reverse(EDIT, kwargs={"pk": 999})).status_code == 404


# --- Takes effect immediately --------------------------------------------------------------------


def test_policy_saved_through_the_page_applies_to_the_next_sign_in(client_for, administrator):
    user = world(application="VPN")
    policy = Policy.objects.create(scope="global")
    client = client_for(administrator)

    client.post(
        _edit_url(policy),
        {"allowed_methods": ["totp", "sms"], "default_method": "totp"},
    )

    attempt = get_mfa_service().sign_in(end_user_id=user.pk, factor="push")
    assert (attempt.result, attempt.reason) == ("denied", "factor_restricted")


def test_mfa_switched_off_through_the_page_lets_the_next_sign_in_through(client_for, administrator):
    user = world(application="VPN")
    vpn = ApplicationFactory(name="VPN")

    client_for(administrator).post(
        reverse("enrollment:policy-create"),
        {"scope": "application", "application": vpn.pk, "mfa_enabled": "false"},
    )

    attempt = get_mfa_service().sign_in(end_user_id=user.pk, application="VPN")
    assert (attempt.result, attempt.reason) == ("success", "allowed_by_policy")


# --- The explorer ---------------------------------------------------------------------------------


def _explain(client, **params):
    return client.get(reverse("enrollment:policy-explain"), params)


def test_explorer_names_the_policy_behind_each_setting(client_for, administrator):
    sales = GroupFactory(name="Sales")
    kiosk = GroupFactory(name="Kiosk")
    vpn = ApplicationFactory(name="VPN")
    global_policy = PolicyFactory(
        scope="global", resend_limit=2, sets_exempt_groups=True, exempt_groups=[kiosk]
    )
    app_policy = PolicyFactory(scope="application", application=vpn, default_method="totp")
    group_policy = PolicyFactory(scope="group", group=sales, code_timeout_seconds=60)
    user = EndUserFactory(username="dana.lee", groups=[sales, kiosk])

    response = _explain(client_for(administrator), end_user=user.pk, application=vpn.pk)

    rows = {row.label: (row.value, row.source, row.url) for row in response.context["rows"]}
    assert rows["Resend limit"] == ("2", "global policy", _edit_url(global_policy))
    assert rows["Default method"] == (
        "Authenticator app code (TOTP)",
        "the VPN application's policy",
        _edit_url(app_policy),
    )
    assert rows["Code timeout (seconds)"] == (
        "60",
        "the Sales group's policy",
        _edit_url(group_policy),
    )
    assert rows["Maximum invalid attempts"] == ("5", "built-in default", None)
    body = response.content.decode()
    assert "Exempt from the second factor through Kiosk (global policy)" in body
    assert "everyone may sign in" in body


def test_explorer_shows_a_user_who_is_not_permitted(client_for, administrator):
    finance = GroupFactory(name="Finance")
    payroll = ApplicationFactory(name="Payroll")
    PolicyFactory(
        scope="application",
        application=payroll,
        sets_permitted_groups=True,
        permitted_groups=[finance],
    )
    user = EndUserFactory(groups=[GroupFactory(name="Sales")])

    body = _explain(
        client_for(administrator), end_user=user.pk, application=payroll.pk
    ).content.decode()

    assert "Not permitted: only Finance may sign in (the Payroll application&#x27;s policy)" in body


def test_explorer_search_lists_only_users_in_the_viewers_units(client_for, user_manager):
    mine, theirs = GroupFactory(name="Mine"), GroupFactory(name="Theirs")
    AdministrativeUnitFactory(name="Unit A", groups=[mine], staff=[user_manager])
    EndUserFactory(username="alex.mine", groups=[mine])
    EndUserFactory(username="alex.theirs", groups=[theirs])

    response = _explain(client_for(user_manager), q="alex")

    assert [u.username for u in response.context["matches"]] == ["alex.mine"]


def test_explorer_refuses_an_end_user_outside_the_viewers_units(client_for, user_manager):
    mine, theirs = GroupFactory(name="Mine"), GroupFactory(name="Theirs")
    AdministrativeUnitFactory(name="Unit A", groups=[mine], staff=[user_manager])
    outsider = EndUserFactory(groups=[theirs])

    assert _explain(client_for(user_manager), end_user=outsider.pk).status_code == 404


def test_user_manager_sees_sources_without_edit_links(client_for, user_manager):
    policy = PolicyFactory(scope="global", resend_limit=2)
    user = EndUserFactory()
    response = _explain(client_for(user_manager), end_user=user.pk)
    rows = {row.label: (row.source, row.url) for row in response.context["rows"]}
    assert rows["Resend limit"] == ("global policy", None)
    assert _edit_url(policy) not in response.content.decode()


def test_explorer_htmx_request_renders_the_result_fragment(client_for, administrator):
    user = EndUserFactory(username="frag.user")
    response = client_for(administrator).get(
        reverse("enrollment:policy-explain"), {"end_user": user.pk}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="explain-result">')
    assert "frag.user" in body


def test_explorer_query_count_does_not_grow_with_groups_and_policies(
    client_for, administrator, django_assert_num_queries
):
    client = client_for(administrator)
    vpn = ApplicationFactory(name="VPN")
    user = EndUserFactory(groups=[GroupFactory(name="G0")])
    PolicyFactory(scope="global", resend_limit=1)
    _explain(client, end_user=user.pk, application=vpn.pk)  # warm the session
    with django_assert_num_queries(15):
        _explain(client, end_user=user.pk, application=vpn.pk)
    groups = [GroupFactory(name=f"G{n}") for n in range(1, 4)]
    user.groups.add(*groups)
    for group in groups:
        PolicyFactory(
            scope="group", group=group, sets_exempt_groups=True, exempt_groups=[groups[0]]
        )
    PolicyFactory(scope="application", application=vpn, resend_limit=4)
    with django_assert_num_queries(15):
        _explain(client, end_user=user.pk, application=vpn.pk)


def test_other_roles_may_not_use_the_explorer(client_for, technician):
    assert _explain(client_for(technician)).status_code == 403


def test_owner_is_not_limited_by_units(client_for):
    owner = make_staff("owner", username="the-owner")
    AdministrativeUnitFactory(name="Owner unit", groups=[GroupFactory(name="A")], staff=[owner])
    user = EndUserFactory(groups=[GroupFactory(name="B")])
    assert _explain(client_for(owner), end_user=user.pk).status_code == 200


def test_create_group_policy_with_priority_and_edit_it(client_for, administrator):
    contractors = GroupFactory(name="Contractors")
    client = client_for(administrator)

    client.post(
        reverse("enrollment:policy-create"),
        {"scope": "group", "group": contractors.pk, "priority": "10", "resend_limit": "1"},
    )

    policy = Policy.objects.get(group=contractors)
    assert (policy.scope, policy.priority, policy.resend_limit) == ("group", 10, 1)
    page = client.get(_edit_url(policy))
    assert "priority" in page.context["form"].fields
    assert "Group: Contractors" in page.content.decode()


def test_global_and_application_policies_have_no_priority_field(client_for, administrator):
    policy = PolicyFactory(scope="global")
    page = client_for(administrator).get(_edit_url(policy))
    assert "priority" not in page.context["form"].fields


def test_navigation_offers_policies_to_administrators_and_the_explorer_to_user_managers(
    client_for, administrator, user_manager, technician
):
    def labels(staff):
        response = client_for(staff).get(reverse("helpdesk:home"))
        return {item["label"] for item in response.context["nav_items"]}

    assert {"Policies", "Policy explorer", "Staff"} <= labels(administrator)
    assert {"Policies", "Staff"} & labels(user_manager) == set()
    assert "Policy explorer" in labels(user_manager)
    assert {"Policies", "Policy explorer", "Staff"} & labels(technician) == set()


def test_edit_page_lists_recent_changes_with_old_and_new_values(client_for, administrator):
    policy = PolicyFactory(scope="global", resend_limit=3)
    client = client_for(administrator)
    client.post(_edit_url(policy), {"resend_limit": "5", "max_invalid_attempts_unlimited": "on"})

    history = client.get(_edit_url(policy)).context["history"]

    assert [(h["by"], h["action"], h["changes"]) for h in history] == [
        (
            administrator.username,
            "updated",
            ["Maximum invalid attempts: inherit → no limit", "Resend limit: 3 → 5"],
        )
    ]
