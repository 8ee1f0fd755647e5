"""Styled 403, 404 and 500 pages: what happened and where to go, never Django's bare text."""

from django.template.loader import render_to_string
from django.urls import reverse


def test_a_role_restricted_page_answers_the_styled_403(client_for, technician):
    response = client_for(technician).get(reverse("helpdesk:dashboard"))

    html = response.content.decode()
    assert response.status_code == 403
    assert '<h1 id="error-title">Your role does not include this page</h1>' in html
    assert "ask an administrator to change your role" in html
    assert '<a href="/tickets/">Tickets</a>' in html


def test_a_missing_record_answers_the_styled_404(client_for, technician):
    response = client_for(technician).get(reverse("helpdesk:ticket-detail", kwargs={"pk": 999}))

    html = response.content.decode()
    assert response.status_code == 404
    assert '<h1 id="error-title">We could not find that</h1>' in html
    assert "outside your administrative units" in html


def test_the_500_page_renders_without_a_request():
    html = render_to_string("500.html")

    assert '<h1 id="error-title">Something went wrong on our side</h1>' in html
    assert "The error has been logged." in html
