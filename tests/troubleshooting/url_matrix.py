from django.urls import reverse

from tests.permission_matrix import ANY_STAFF, Entry, roles

_WORKERS = roles("owner", "administrator", "user_manager", "helpdesk")


def _ticket(world):
    return {"ticket_pk": world.ticket.pk}


def _session(world):
    return {"pk": world.guided_session.pk}


def _back_to_session(response, world, staff):
    assert response["Location"] == reverse(
        "troubleshooting:ticket", kwargs={"ticket_pk": world.ticket.pk}
    )


def _shows_the_session(response, world, staff):
    assert 'id="guide-panel"' in response.content.decode()


ENTRIES = [
    Entry(
        "troubleshooting:ticket",
        _WORKERS,
        kwargs=_ticket,
        scoped=True,
        check=_shows_the_session,
    ),
    Entry(
        "troubleshooting:start",
        _WORKERS,
        method="post",
        kwargs=_ticket,
        data=lambda world: {"application": ""},
        ok_status=(302,),
        scoped=True,
        check=_back_to_session,
    ),
    Entry(
        "troubleshooting:advance",
        _WORKERS,
        method="post",
        kwargs=_session,
        data=lambda world: {"node": "nowhere", "value": "true"},
        ok_status=(302,),
        scoped=True,
        check=_back_to_session,
    ),
    Entry(
        "troubleshooting:poll",
        _WORKERS,
        kwargs=_session,
        ok_status=(302,),
        scoped=True,
        check=_back_to_session,
    ),
    Entry(
        "troubleshooting:back",
        _WORKERS,
        method="post",
        kwargs=_session,
        data=lambda world: {"sequence": "999"},
        ok_status=(302,),
        scoped=True,
        check=_back_to_session,
    ),
    Entry(
        "troubleshooting:abandon",
        _WORKERS,
        method="post",
        kwargs=_session,
        ok_status=(302,),
        scoped=True,
        check=_back_to_session,
    ),
]


def _lists_articles(response, world, staff):
    assert 'id="kb-results"' in response.content.decode()


def _shows_article(response, world, staff):
    assert '<h1 id="kb-article-title">Push troubleshooting</h1>' in response.content.decode()


ENTRIES += [
    Entry("kb:list", ANY_STAFF, check=_lists_articles),
    Entry(
        "kb:article",
        ANY_STAFF,
        kwargs=lambda world: {"slug": "push-troubleshooting"},
        check=_shows_article,
    ),
]
