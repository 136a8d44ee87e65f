"""Create the roles of the atlas as Django groups. Their permissions are kept in sync after
every migrate by governance.roles.sync_role_permissions (permissions only exist after
post_migrate, and each app's models bring their own)."""

from django.db import migrations

ROLES = ["admin", "researcher", "reviewer", "donor", "partner"]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("governance", "0002_soft_delete_and_review"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
