"""The baseline page: signed in (the same middleware as every page), one indexed query, a
tiny template. Each real page's throughput is reported as a ratio to this one."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template import engines

from helpdesk.models import Ticket

TEMPLATE = engines["django"].from_string("<!doctype html><title>b</title><p>{{ subject }}</p>")


@login_required
def baseline(request: HttpRequest) -> HttpResponse:
    pk = int(request.GET.get("id", "1"))
    subject = Ticket.objects.filter(pk=pk).values_list("subject", flat=True).first()
    return HttpResponse(TEMPLATE.render({"subject": subject}, request))
