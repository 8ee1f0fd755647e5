from django.db import models


class Group(models.Model):
    """A directory group of end users (Sales, Contractors, Admins …).

    Administrative units scope staff to sets of groups.
    """

    name = models.CharField(max_length=150, unique=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
