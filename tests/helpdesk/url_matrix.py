from django.urls import reverse

from tests.permission_matrix import ANY_STAFF, PUBLIC, Entry, roles


def _redirects_home(response, world, staff):
    assert response["Location"] == reverse("helpdesk:home")


def _shows_role(response, world, staff):
    assert staff.get_role_display() in response.content.decode()


def _signed_out(response, world, staff):
    assert response["Location"] == reverse("helpdesk:login")
    assert "_auth_user_id" not in response.wsgi_request.session


ENTRIES = [
    Entry("helpdesk:home", ANY_STAFF, check=_shows_role),
    Entry("helpdesk:login", PUBLIC, ok_status=(302,), check=_redirects_home),
    # A fully signed-in staff member has nothing left to verify or enroll.
    Entry("helpdesk:login-verify", ANY_STAFF, ok_status=(302,), check=_redirects_home),
    Entry("helpdesk:login-enroll", ANY_STAFF, ok_status=(302,), check=_redirects_home),
    Entry("helpdesk:logout", ANY_STAFF, method="post", ok_status=(302,), check=_signed_out),
    Entry("healthz", PUBLIC),
    Entry(
        "admin:index",
        roles("owner", "administrator"),
        covers=("admin:*",),
    ),
    Entry("admin:helpdesk_staff_changelist", roles("owner", "administrator")),
    Entry("admin:helpdesk_administrativeunit_changelist", roles("owner", "administrator")),
]
