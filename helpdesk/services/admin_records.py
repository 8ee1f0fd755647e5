"""Changes made through the Django admin, recorded on the "admin" audit stream.

The admin edits only records no guarded service owns (group names, applications, the
simulator's provider state); everything else is read-only there (helpdesk.admin_audit).
Each save writes one "admin.record_changed" event in the admin's own transaction, with the
old and new value of every changed field, so nothing changes there without a trace.
"""

from typing import Any

from django.db import transaction
from pydantic import Field

from helpdesk.enums import EventKind
from helpdesk.models import Staff
from helpdesk.services.audit import Payload, audit_event_record, register_payload

AUDIT_STREAM = "admin"


class FieldChange(Payload):
    old: Any = None
    new: Any = None


class RecordChangedPayload(Payload):
    action: str  # added | changed
    model: str  # app_label.ModelName
    object_id: str
    object: str  # the record's name at the time, so the trail reads on its own
    by: str
    changes: dict[str, FieldChange] = Field(default_factory=dict)


register_payload(EventKind.RECORD_CHANGED, RecordChangedPayload)


def _plain(value: Any) -> Any:
    """A JSON-safe rendering of a form value (model instances and querysets by name)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset) or hasattr(value, "model"):
        return sorted(str(item) for item in value)
    return str(value)


@transaction.atomic(savepoint=False)
def admin_record_changed(
    *,
    actor: Staff,
    action: str,
    model_label: str,
    object_id: Any,
    object_repr: str,
    changes: dict[str, tuple[Any, Any]],
) -> None:
    """Appends the "admin.record_changed" event for one save in the Django admin. Call it
    inside the admin's transaction (ModelAdmin.save_model / save_related)."""
    audit_event_record(
        stream=AUDIT_STREAM,
        kind=EventKind.RECORD_CHANGED,
        actor=actor,
        payload=RecordChangedPayload(
            action=action,
            model=model_label,
            object_id=str(object_id),
            object=object_repr[:200],
            by=actor.username,
            changes={
                name: FieldChange(old=_plain(old), new=_plain(new))
                for name, (old, new) in sorted(changes.items())
            },
        ),
    )
