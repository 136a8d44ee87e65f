"""Give three towns the names checked by hand (towns.demo.places.CHECKED_NAMES) where they still
hold the name picker's wrong form and no researcher has confirmed their names."""

from django.db import migrations

#: A copy of towns.demo.places.CHECKED_NAMES (GeoNames id -> Belarusian, Russian) as it was
#: when this migration was written.
CHECKED = {
    627907: ("Гомель", "Гомель"),
    627145: ("Кобрын", "Кобрин"),
    13494161: ("Сонечны", "Солнечный"),
}


def correct(apps, schema_editor):
    Town = apps.get_model("towns", "Town")
    for geonames_id, (be, ru) in CHECKED.items():
        Town.objects.filter(geonames_id=geonames_id, names_verified=False).update(
            name_be=be, name_ru=ru, names_verified=True
        )


class Migration(migrations.Migration):
    dependencies = [("towns", "0010_published_unique_keys")]

    operations = [migrations.RunPython(correct, migrations.RunPython.noop)]
