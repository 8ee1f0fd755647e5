from datetime import datetime

from django.db import models

from enrollment import clock


class ClockUpdatedAtField(models.DateTimeField):
    """Like `auto_now=True`, but stamped from the simulated clock (enrollment.clock), so
    `updated_at` never lands before a `started_at` taken from an advanced clock."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance: models.Model, add: bool) -> datetime:
        value = clock.now()
        setattr(model_instance, self.attname, value)
        return value
