from django.db import migrations

# ew on the folded keys is REVERSE(key) LIKE 'reversed value%' on PostgreSQL (filters.targets.KeyEndsWith): a
# btree with pattern ops on the reversed key answers it, as drf_scim_user_name_prefix answers sw.
SUFFIX_INDEXES = {
    "drf_scim_user_name_suffix": ("drf_scim_scimuser", "user_name_key"),
    "drf_scim_display_name_suffix": ("drf_scim_scimgroup", "display_name_key"),
}


def create_suffix_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name, (table, column) in SUFFIX_INDEXES.items():
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                f"(tenant varchar_pattern_ops, (REVERSE({column})) text_pattern_ops)"
            )


def drop_suffix_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in SUFFIX_INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("drf_scim", "0007_events")]

    operations = [migrations.RunPython(create_suffix_indexes, drop_suffix_indexes)]
