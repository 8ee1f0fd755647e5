"""Rate limits on recovery actions, per staff member and per end user.

Counted from the ticket events themselves (every completed action writes exactly one), so
the limits hold across every web and worker process with no counter of their own to drift;
the guard runs with the staff member's and the end user's rows locked, so two concurrent
requests cannot both slip under a limit. Windows slide and read the simulated clock.
"""

from datetime import datetime, timedelta

from django.db.models import Count, Min

from enrollment import conf
from enrollment.models import EndUser
from helpdesk.enums import EventKind
from helpdesk.models import Staff, TicketEvent


def _counted_actions() -> list[str]:
    from enrollment.services.guards import ACTIONS

    return [name for name, spec in ACTIONS.items() if not spec.protective]


def _window_label(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} minutes" if minutes % 60 else f"{minutes // 60} hour(s)"


def check(*, actor: Staff, end_user: EndUser, now: datetime) -> list:
    """Guard results for both limits. Side effects: none."""
    from enrollment.services.guards import RATE_END_USER, RATE_TECHNICIAN, GuardResult

    window = conf.recovery_rate_window()
    done = TicketEvent.objects.filter(
        kind=EventKind.RECOVERY_ACTION,
        occurred_at__gt=now - window,
        payload__outcome="done",
        payload__action__in=_counted_actions(),
    )
    results = []
    for name, rows, limit, whose in (
        (
            RATE_TECHNICIAN,
            done.filter(actor=actor),
            conf.recovery_rate_limit_per_technician(),
            "per technician",
        ),
        (
            RATE_END_USER,
            done.filter(end_user=end_user),
            conf.recovery_rate_limit_per_end_user(),
            f"for {end_user.username}",
        ),
    ):
        stats = rows.aggregate(n=Count("id"), oldest=Min("occurred_at"))
        count = stats["n"]
        if count < limit:
            results.append(GuardResult(name, True, f"{count} of {limit}."))
            continue
        resets = stats["oldest"] + window
        results.append(
            GuardResult(
                name,
                False,
                f"Rate limit reached: {count} recovery actions {whose} in the last "
                f"{_window_label(window)} (limit {limit}). It resets at "
                f"{resets:%H:%M:%S} UTC.",
            )
        )
    return results
