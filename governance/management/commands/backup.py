"""python manage.py backup: a consistent, timestamped pg_dump; keeps the newest N."""

from django.core.management.base import BaseCommand

from governance import backups


class Command(BaseCommand):
    help = "Write a consistent, timestamped dump (pg_dump custom format) to BACKUP_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--keep", type=int, default=None, help="Dumps to keep (BACKUP_KEEP).")
        parser.add_argument(
            "--dbname", default=None, help="Database to dump (default: the site's)."
        )

    def handle(self, *args, keep=None, dbname=None, **options):
        path, removed = backups.backup(dbname=dbname, keep=keep)
        self.stdout.write(f"Backup written: {path} ({path.stat().st_size} bytes)")
        for old in removed:
            self.stdout.write(f"Removed old backup: {old}")
