import pytest
from django.http import Http404

from enrollment.selectors import end_user_get_visible, end_user_list_visible_to
from helpdesk.roles import Role
from tests.conftest import make_staff
from tests.factories import AdministrativeUnitFactory, EndUserFactory, GroupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    sales = GroupFactory(name="Sales")
    finance = GroupFactory(name="Finance")
    EndUserFactory(username="ann", groups=[sales])
    EndUserFactory(username="bob", groups=[sales, finance])
    EndUserFactory(username="cai", groups=[finance])
    EndUserFactory(username="dee")
    return {"sales": sales, "finance": finance}


def usernames(queryset) -> list[str]:
    return [user.username for user in queryset]


def test_unit_bound_staff_see_only_their_units_groups_once_each(world, technician):
    AdministrativeUnitFactory(name="Sales unit", groups=[world["sales"]], staff=[technician])

    assert usernames(end_user_list_visible_to(technician)) == ["ann", "bob"]


def test_staff_in_two_units_see_the_union_without_duplicates(world, technician):
    AdministrativeUnitFactory(name="Sales unit", groups=[world["sales"]], staff=[technician])
    AdministrativeUnitFactory(name="Finance unit", groups=[world["finance"]], staff=[technician])

    assert usernames(end_user_list_visible_to(technician)) == ["ann", "bob", "cai"]


def test_unbound_staff_see_every_end_user(world, technician):
    assert usernames(end_user_list_visible_to(technician)) == ["ann", "bob", "cai", "dee"]


def test_owner_sees_every_end_user_even_when_bound(world, owner):
    AdministrativeUnitFactory(name="Sales unit", groups=[world["sales"]], staff=[owner])

    assert usernames(end_user_list_visible_to(owner)) == ["ann", "bob", "cai", "dee"]


def test_unit_without_groups_shows_nobody(world, technician):
    AdministrativeUnitFactory(name="Empty unit", staff=[technician])

    assert usernames(end_user_list_visible_to(technician)) == []


def test_search_matches_any_contact_attribute_case_insensitively(technician):
    EndUserFactory(username="dana.lee", full_name="Dana Lee", email="dana@example.com")
    EndUserFactory(username="eli", full_name="Eli Moss", email="eli@example.com", phone="+1555777")
    EndUserFactory(username="fay", full_name="Fay Ng", email="fay@corp.example", mobile="+4477")

    assert usernames(end_user_list_visible_to(technician, search="LEE")) == ["dana.lee"]
    assert usernames(end_user_list_visible_to(technician, search="example.com")) == [
        "dana.lee",
        "eli",
    ]
    assert usernames(end_user_list_visible_to(technician, search=" 555777 ")) == ["eli"]
    assert usernames(end_user_list_visible_to(technician, search="+4477")) == ["fay"]
    assert usernames(end_user_list_visible_to(technician, search="   ")) == [
        "dana.lee",
        "eli",
        "fay",
    ]


def test_search_stays_within_the_unit(world, technician):
    AdministrativeUnitFactory(name="Finance unit", groups=[world["finance"]], staff=[technician])

    assert usernames(end_user_list_visible_to(technician, search="ca")) == ["cai"]
    assert usernames(end_user_list_visible_to(technician, search="ann")) == []


def test_get_visible_returns_an_in_scope_end_user(world, technician):
    AdministrativeUnitFactory(name="Sales unit", groups=[world["sales"]], staff=[technician])
    bob = EndUserFactory(username="bob")

    found = end_user_get_visible(technician, bob.pk)

    assert found == bob
    assert sorted(group.name for group in found.groups.all()) == ["Finance", "Sales"]


def test_get_visible_raises_404_outside_the_unit_and_for_unknown_ids(world, technician):
    AdministrativeUnitFactory(name="Sales unit", groups=[world["sales"]], staff=[technician])
    cai = EndUserFactory(username="cai")

    with pytest.raises(Http404):
        end_user_get_visible(technician, cai.pk)
    with pytest.raises(Http404):
        end_user_get_visible(technician, 999_999)


@pytest.mark.parametrize("rows", [1, 3])
def test_list_query_count_does_not_grow_with_rows_for_unit_bound_staff(
    rows, django_assert_num_queries
):
    sales = GroupFactory(name="Sales")
    other = GroupFactory(name="Other")
    for n in range(rows):
        EndUserFactory(username=f"u{n}", groups=[sales, other])
    staff = make_staff(Role.HELPDESK, username="bound")
    AdministrativeUnitFactory(name="Sales unit", groups=[sales], staff=[staff])

    # the staff member's unit groups, the end users, their groups
    with django_assert_num_queries(3):
        listed = [
            (user.username, [g.name for g in user.groups.all()])
            for user in end_user_list_visible_to(staff)
        ]

    assert listed == [(f"u{n}", ["Other", "Sales"]) for n in range(rows)]


@pytest.mark.parametrize("rows", [1, 3])
def test_list_query_count_does_not_grow_with_rows_for_unbound_staff(
    rows, django_assert_num_queries
):
    sales = GroupFactory(name="Sales")
    for n in range(rows):
        EndUserFactory(username=f"u{n}", groups=[sales])
    staff = make_staff(Role.HELPDESK, username="unbound")

    # unit groups (none), whether any unit binds them (no), the end users, their groups
    with django_assert_num_queries(4):
        listed = [user.username for user in end_user_list_visible_to(staff)]

    assert listed == [f"u{n}" for n in range(rows)]
