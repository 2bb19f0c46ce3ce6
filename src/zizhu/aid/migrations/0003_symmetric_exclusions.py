"""Store the default exclusion both ways: 0002 added HS_STIPEND → VOC_STIPEND through the
historical model, which does not mirror a self-relation, so VOC_STIPEND's side was empty."""

from django.db import migrations


def mirror(apps, schema_editor):
    through = apps.get_model("aid", "Programme").excludes.through
    pairs = set(through.objects.values_list("from_programme_id", "to_programme_id"))
    through.objects.bulk_create(
        through(from_programme_id=b, to_programme_id=a) for a, b in pairs if (b, a) not in pairs
    )


class Migration(migrations.Migration):
    dependencies = [("aid", "0002_reference_data")]
    operations = [migrations.RunPython(mirror, migrations.RunPython.noop)]
