"""The main navigation: the administration pages grouped under one "Admin" disclosure, the
rest on the top row."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _menu(client) -> tuple[list[str], list[str]]:
    body = client.get(reverse("helpdesk:home")).content.decode()
    nav = body.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    top, _, grouped = nav.partition('<details class="nav-more">')
    labels = re.compile(r'<a href="[^"]*"(?: aria-current="page")?>([^<]+)')
    return labels.findall(top), labels.findall(grouped)


def test_an_administrators_admin_pages_are_grouped(client_for, administrator):
    top, grouped = _menu(client_for(administrator))
    assert grouped == ["Pending enrollment", "Staff", "Administration"]
    assert top == [
        "Home",
        "Tickets",
        "End users",
        "Audit review",
        "Dashboard",
        "Knowledge base",
        "Device simulator",
        "Policies",
        "Policy explorer",
        "Playbooks",
    ]


def test_a_technician_has_no_admin_group(client_for, technician):
    top, grouped = _menu(client_for(technician))
    assert grouped == []
    assert "Tickets" in top
