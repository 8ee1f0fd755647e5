"""Keyed audit hashes (HMAC-SHA-256 with AUDIT_HMAC_KEY).

Rows already in the trail keep their plain SHA-256 hashes and are marked hash_version 1 (the
column is added with that default, which PostgreSQL applies without touching the rows, so the
append-only triggers are not involved); new rows are version 2. The last unkeyed event id is
recorded in AuditHashCutover, which the runtime role may only read: verify_audit accepts an
unkeyed row only up to that id.
"""

from django.db import migrations, models


def record_cutover(apps, schema_editor):
    TicketEvent = apps.get_model("helpdesk", "TicketEvent")
    AuditHashCutover = apps.get_model("helpdesk", "AuditHashCutover")
    last = TicketEvent.objects.order_by("-id").values_list("id", flat=True).first()
    AuditHashCutover.objects.create(last_legacy_event_id=last or 0)


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0005_task_outbox"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditHashCutover",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("last_legacy_event_id", models.BigIntegerField()),
                ("recorded_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        # Existing rows: unkeyed (1).
        migrations.AddField(
            model_name="ticketevent",
            name="hash_version",
            field=models.PositiveSmallIntegerField(default=1),
            preserve_default=False,
        ),
        # Rows from now on: keyed (2), also for bulk loads that name no version (seed_load).
        migrations.AlterField(
            model_name="ticketevent",
            name="hash_version",
            field=models.PositiveSmallIntegerField(db_default=2, default=2),
        ),
        migrations.RunPython(record_cutover, migrations.RunPython.noop),
    ]
