"""python manage.py restore FILE: restore a dump into an empty database, after confirmation."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from governance import backups


class Command(BaseCommand):
    help = "Restore a backup (pg_restore) into an empty database. Asks first unless --no-input."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--no-input", action="store_false", dest="interactive")
        parser.add_argument("--dbname", default=None, help="Target database (default: the site's).")

    def handle(self, *args, file, interactive=True, dbname=None, **options):
        target = backups.Target.from_settings(dbname)
        if interactive:
            answer = input(f"Restore {file} into database {target.dbname!r}? Type 'yes': ")
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled.")
        backups.restore(file, dbname=dbname)
        self.stdout.write(self.style.SUCCESS(f"Restored {file} into {target.dbname}."))
