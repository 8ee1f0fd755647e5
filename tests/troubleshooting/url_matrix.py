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
        "troubleshooting:bypass-given",
        _WORKERS,
        method="post",
        kwargs=_session,
        ok_status=(302,),
        scoped=True,
        check=_back_to_session,
    ),
    Entry(
        "troubleshooting:caller-report",
        _WORKERS,
        method="post",
        kwargs=_session,
        data=lambda world: {"report": "saw_nothing"},
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


# --- Playbook publishing ------------------------------------------------------------------------

# Reading: REVIEW_AUDIT (supervisors, auditors) and PUBLISH_PLAYBOOKS; writing: PUBLISH_PLAYBOOKS.
_PLAYBOOK_READERS = roles("owner", "administrator", "supervisor", "read_only")
_PUBLISHERS = roles("owner", "administrator")


def _version(world):
    version = world.guided_session.version
    return {"slug": version.playbook.slug, "number": version.number}


def _playbook(world):
    return {"slug": world.guided_session.version.playbook.slug}


def _lists_playbooks(response, world, staff):
    assert 'id="pb-missing_prompt"' in response.content.decode()


def _shows_graph(response, world, staff):
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="pb-graph"' in response.content.decode()


def _shows_diff(response, world, staff):
    assert 'id="diff-result"' in response.content.decode()


def _refuses_unlinted(response, world, staff):
    assert "Not published: " in response.content.decode()


def _back_to_version(response, world, staff):
    assert response["Location"] == reverse(
        "troubleshooting:playbook-version", kwargs=_version(world)
    )


def _back_to_list(response, world, staff):
    assert response["Location"] == reverse("troubleshooting:playbook-list")


ENTRIES += [
    Entry(
        "troubleshooting:playbook-list",
        _PLAYBOOK_READERS,
        # No URL kwargs; publishing the shipped playbooks first gives the list rows to show.
        kwargs=lambda world: (world.guided_session, {})[1],
        check=_lists_playbooks,
    ),
    Entry("troubleshooting:playbook-publish", _PUBLISHERS),
    Entry(
        "troubleshooting:playbook-publish",
        _PUBLISHERS,
        method="post",
        data=lambda world: {"source": "id: broken\n"},
        check=_refuses_unlinted,
    ),
    Entry(
        "troubleshooting:playbook-sync",
        _PUBLISHERS,
        method="post",
        ok_status=(302,),
        check=_back_to_list,
    ),
    Entry(
        "troubleshooting:playbook-version",
        _PLAYBOOK_READERS,
        kwargs=_version,
        check=_shows_graph,
    ),
    Entry("troubleshooting:playbook-diff", _PLAYBOOK_READERS, kwargs=_playbook, check=_shows_diff),
    Entry(
        "troubleshooting:playbook-retire",
        _PUBLISHERS,
        method="post",
        kwargs=_version,
        ok_status=(302,),
        check=_back_to_version,
    ),
    Entry(
        "troubleshooting:playbook-delete",
        _PUBLISHERS,
        method="post",
        kwargs=_version,
        ok_status=(302,),
        check=_back_to_version,
    ),
]
