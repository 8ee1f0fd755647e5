from django.core.management import call_command

from helpdesk.models import Ticket, TicketEvent
from helpdesk.selectors import QueueQuery, ticket_list_visible_to
from helpdesk.services.audit import audit_chain_verify
from helpdesk.services.tickets import ticket_comment


def test_seed_load_builds_chains_that_verify_and_services_continue(db):
    call_command("seed_load", tickets=40, events_per_ticket=6, open_percent=50, end_users=5)

    assert Ticket.objects.count() == 40
    assert TicketEvent.objects.count() == 240
    report = audit_chain_verify()
    assert (report.ok, report.events_checked, report.streams_checked) == (True, 240, 40)
    # The seeded technician sees the seeded tickets, and the services append to their chains.
    tech = Ticket.objects.first().opened_by
    page = ticket_list_visible_to(tech, QueueQuery(queue="all"), page_size=5)
    assert len(page.rows) == 5
    ticket_comment(actor=tech, ticket=page.rows[0], body="After the load.")
    assert audit_chain_verify().ok is True
