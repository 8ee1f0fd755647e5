"""The GIN index behind the queue's full-text search, on PostgreSQL only.

It indexes exactly the expression helpdesk.selectors._search filters on
(to_tsvector('simple', COALESCE(search_text, ''))), so the planner can use it. SQLite has no
GIN indexes; the embedded default searches with a plain substring match instead.
"""

from django.db import migrations

INDEX_NAME = "ticket_search_gin"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(SearchVector("search_text", config="simple"), name=INDEX_NAME)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.add_index(apps.get_model("helpdesk", "Ticket"), _index())


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_index(apps.get_model("helpdesk", "Ticket"), _index())


class Migration(migrations.Migration):
    dependencies = [("helpdesk", "0002_tickets")]

    operations = [migrations.RunPython(create, drop)]
