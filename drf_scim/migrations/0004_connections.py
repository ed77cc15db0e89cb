from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


def record_connections(apps, schema_editor):
    """Provisioning applications (confidential, client credentials, no user) whose tokens carry a SCIM scope are
    connections: give each a SCIMClient row (the default tenant)."""
    from django.db.models import Q

    from drf_scim.settings import scim_settings

    scopes = {scim_settings.READ_SCOPE, scim_settings.WRITE_SCOPE}
    for granted in scim_settings.RESOURCE_TYPE_SCOPES.values():
        scopes.update(granted.values())
    try:
        AccessToken = apps.get_model(oauth2_settings.ACCESS_TOKEN_MODEL)
        Application = apps.get_model(oauth2_settings.APPLICATION_MODEL)
    except LookupError:  # swapped models that a later migration of their app makes: no tokens to read yet
        return
    SCIMClient = apps.get_model("drf_scim", "SCIMClient")
    db = schema_editor.connection.alias
    known = set(SCIMClient.objects.using(db).values_list("client_id", flat=True))
    mentions = Q()
    for scope in scopes:
        mentions |= Q(scope__contains=scope)
    with_scopes = {
        application_id
        for application_id, scope in AccessToken.objects.using(db)
        .filter(mentions, application__isnull=False)
        .values_list("application_id", "scope")
        .distinct()
        if scopes.intersection(scope.split())
    }
    provisioning = Application.objects.using(db).filter(
        pk__in=with_scopes, authorization_grant_type="client-credentials", client_type="confidential", user=None
    )
    SCIMClient.objects.using(db).bulk_create(
        SCIMClient(client_id=client_id, tenant="")
        for client_id in provisioning.values_list("client_id", flat=True)
        if client_id not in known
    )


class Migration(migrations.Migration):
    dependencies = [
        ("drf_scim", "0003_host_state"),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
        migrations.swappable_dependency(oauth2_settings.ACCESS_TOKEN_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(name="scimclient", options={"verbose_name": "SCIM connection"}),
        migrations.AlterField(
            model_name="scimclient",
            name="tenant",
            field=models.CharField(blank=True, db_index=True, default="", max_length=100),
        ),
        migrations.AddField(
            model_name="scimclient",
            name="created",
            field=models.DateTimeField(auto_now_add=True, null=True),
        ),
        migrations.CreateModel(
            name="SCIMActivity",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("client_id", models.CharField(max_length=255)),
                ("day", models.DateField()),
                ("requests", models.PositiveBigIntegerField(default=0)),
                ("writes", models.PositiveBigIntegerField(default=0, verbose_name="writes (POST, PUT, PATCH, DELETE)")),
                ("errors", models.PositiveBigIntegerField(default=0, verbose_name="error responses (4xx, 5xx)")),
                ("last_request", models.DateTimeField()),
            ],
            options={
                "verbose_name": "SCIM activity",
                "verbose_name_plural": "SCIM activity",
                "constraints": [
                    models.UniqueConstraint(fields=("client_id", "day"), name="drf_scim_activity_per_day")
                ],
            },
        ),
        migrations.RunPython(record_connections, migrations.RunPython.noop),
    ]
