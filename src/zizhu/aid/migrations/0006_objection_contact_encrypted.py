"""Encrypt the contact people leave with an objection, like a clue reporter's: added as a new
encrypted column, filled from the old one, which is then dropped."""

from django.db import migrations

import zizhu.core.crypto


def encrypt_contacts(apps, schema_editor):
    objection = apps.get_model("aid", "Objection")
    for row in objection.objects.exclude(contact="").only("pk", "contact"):
        row.contact_secure = row.contact
        row.save(update_fields=["contact_secure"])


def decrypt_contacts(apps, schema_editor):
    objection = apps.get_model("aid", "Objection")
    for row in objection.objects.exclude(contact_secure=None).only("pk", "contact_secure"):
        row.contact = row.contact_secure or ""
        row.save(update_fields=["contact"])


class Migration(migrations.Migration):
    dependencies = [("aid", "0005_award_change_old_amount")]

    operations = [
        migrations.AddField(
            model_name="objection",
            name="contact_secure",
            field=zizhu.core.crypto.SensitiveField(
                blank=True, null=True, kind="reporter", verbose_name="联系方式"
            ),
        ),
        migrations.RunPython(encrypt_contacts, decrypt_contacts),
        migrations.RemoveField(model_name="objection", name="contact"),
        migrations.RenameField(
            model_name="objection", old_name="contact_secure", new_name="contact"
        ),
    ]
