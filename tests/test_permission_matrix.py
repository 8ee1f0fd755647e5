import importlib
import pkgutil
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests
from helpdesk.roles import Role
from tests.conftest import make_staff, sign_in
from tests.factories import AdministrativeUnitFactory
from tests.permission_matrix import ANY_STAFF, PUBLIC, Entry, World


def _load_entries() -> list[Entry]:
    entries: list[Entry] = []
    for module_info in pkgutil.iter_modules(tests.__path__):
        if not module_info.ispkg:
            continue
        try:
            module = importlib.import_module(f"tests.{module_info.name}.url_matrix")
        except ModuleNotFoundError:
            continue
        entries.extend(module.ENTRIES)
    return entries


ENTRIES = _load_entries()


def _url_names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= _url_names(pattern, namespace)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or f"<unnamed {pattern.pattern}>"
            names.add(f"{prefix}{name}")
    return names


def test_every_url_has_an_entry():
    served = _url_names(get_resolver())
    covered = {entry.url_name for entry in ENTRIES}
    wildcard_namespaces = {
        cover.removesuffix("*")
        for entry in ENTRIES
        for cover in entry.covers
        if cover.endswith(":*")
    }
    missing = sorted(
        name
        for name in served - covered
        if not any(name.startswith(ns) for ns in wildcard_namespaces)
    )
    assert missing == [], f"URLs with no permission-matrix entry: {missing}"


def test_every_entry_names_a_served_url():
    served = _url_names(get_resolver())
    assert sorted({e.url_name for e in ENTRIES} - served) == []


@pytest.fixture
def world(db) -> World:
    personas = {role: make_staff(role) for role in Role.values}
    w = World(personas)
    AdministrativeUnitFactory(
        name="Matrix unit", groups=[w.in_scope_group], staff=list(personas.values())
    )
    return w


def _request(client: Client, entry: Entry, world: World):
    url = reverse(entry.url_name, kwargs=entry.kwargs(world) if entry.kwargs else None)
    data = entry.data(world) if entry.data else {}
    return getattr(client, entry.method)(url, data)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_anonymous(entry: Entry, world: World):
    client = Client()
    response = _request(client, entry, world)
    if entry.allowed == PUBLIC:
        assert response.status_code == 200
        return
    # Follow the chain (the admin goes through its own login URL first) to our login page.
    for _ in range(3):
        assert response.status_code == 302, f"{entry.id}: {response.status_code}"
        if urlparse(response["Location"]).path == reverse("helpdesk:login"):
            return
        response = client.get(response["Location"])
    pytest.fail(f"{entry.id}: anonymous was not sent to the login page")


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.allowed != PUBLIC], ids=lambda e: e.id)
def test_role(entry: Entry, role: str, world: World):
    staff = world.personas[role]
    response = _request(sign_in(Client(), staff), entry, world)
    if entry.allows(role):
        assert response.status_code in entry.ok_status, (
            f"{entry.id} as {role}: {response.status_code}"
        )
        if entry.check:
            entry.check(response, world, staff)
    else:
        assert response.status_code == 403, f"{entry.id} as {role}: {response.status_code}"


SCOPED_ENTRIES = [e for e in ENTRIES if e.scoped]

# Defined once some URL concerns an end user: an empty parameter set is reported as a skip,
# and CI treats every skip as a failure.
if SCOPED_ENTRIES:

    @pytest.mark.parametrize("entry", SCOPED_ENTRIES, ids=lambda e: e.id)
    def test_outsider_gets_404(entry: Entry, world: World):
        allowed = [r for r in Role.values if entry.allows(r) and r != Role.OWNER]
        outsider = make_staff(allowed[0], username="matrix-outsider")
        AdministrativeUnitFactory(
            name="Matrix other unit", groups=[world.out_of_scope_group], staff=[outsider]
        )
        response = _request(sign_in(Client(), outsider), entry, world)
        assert response.status_code == 404


def test_public_entries_are_only_sign_in_and_health():
    assert sorted(e.url_name for e in ENTRIES if e.allowed == PUBLIC) == [
        "healthz",
        "helpdesk:login",
        # The one-time set-up link's page: its owner has no password yet; the token is
        # the key (tests/helpdesk/test_staff_setup.py).
        "helpdesk:staff-setup",
        "readyz",
    ]


def test_scoped_urls_name_their_roles():
    # "Any staff" would let a role with no business there see an end user's data.
    assert [e.id for e in ENTRIES if e.scoped and e.allowed == ANY_STAFF] == []
