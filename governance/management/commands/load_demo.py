"""Load the real demo data of every app, idempotently.

Each installed app of the project may ship a ``demo`` module with ``load(report)``; they run in
``INSTALLED_APPS`` order (towns before csos) inside one transaction, so the core never imports an
app and a failure leaves the database as it was.
"""

from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from governance.loading import LoadReport
from governance.revisions import direct_writes

PROJECT_APPS = ("towns", "csos")


class Command(BaseCommand):
    help = "Load the demo data (real places from GeoNames, the research's case towns). Idempotent."

    def handle(self, *args, **options):
        report = LoadReport()
        # The demo loader writes its own demo fields directly, published records included: it is
        # the data loader of the demonstration, never a researcher's edit, and it leaves state
        # and access (the reviewers' decisions) alone (see governance.revisions).
        with transaction.atomic(), direct_writes("load_demo"):
            for config in apps.get_app_configs():
                if config.name not in PROJECT_APPS:
                    continue
                try:
                    module = import_module(f"{config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.demo":
                        raise
                    continue
                module.load(report)
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
