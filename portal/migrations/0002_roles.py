"""Create the four staff roles (Viewer, Operator, Supervisor, Administrator) as groups."""
from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate; make them now so the groups can hold them.
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    from portal.roles import sync_roles

    sync_roles(apps)


def remove_roles(apps, schema_editor):
    from portal.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("webhooks", "0001_initial"),
        ("conferencing", "0001_initial"),
        ("queues", "0001_initial"),
        ("calls", "0001_initial"),
        ("recordings", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
