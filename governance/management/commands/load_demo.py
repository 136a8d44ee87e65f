"""Load the real demo data of every app, idempotently.

Each installed app of the project may ship a ``demo`` module with ``load(report)``; they run in
``INSTALLED_APPS`` order (towns before csos) inside one transaction, so the core never imports an
app and a failure leaves the database as it was.
"""

from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from governance.loading import LoadReport
from governance.revisions import direct_writes

PROJECT_APPS = ("towns", "csos")


class Command(BaseCommand):
    help = (
        "Load the demo data (real places from GeoNames, the districts of Belarus, and unless "
        "--places-only the demonstration research of the case towns). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--places-only",
            action="store_true",
            help="Load only the real places (regions, districts, towns): what a real research "
            "team starts from. Also the default when the setting DEMO_RESEARCH is false.",
        )

    def handle(self, *args, **options):
        report = LoadReport()
        research = settings.DEMO_RESEARCH and not options["places_only"]
        if research and not settings.ALLOW_SYNTHETIC_DATA:
            raise CommandError(
                "The demonstration research is synthetic (generated figures, invented people "
                "and cases) and these settings refuse synthetic data (DEBUG is off). Load the "
                "places only (--places-only or DEMO_RESEARCH=false), or set "
                "ALLOW_SYNTHETIC_DATA=true for a demonstration deployment."
            )
        # The demo loader writes its own demo fields directly, published records included: it is
        # the data loader of the demonstration, never a researcher's edit, and it leaves state
        # and access (the reviewers' decisions) alone (see governance.revisions).
        with transaction.atomic(), direct_writes("load_demo"):
            if not research:
                from towns.demo.places import load_places

                load_places(report)
            for config in apps.get_app_configs() if research else ():
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
        from towns.models import Town

        without = Town.objects.filter(district__isnull=True, is_synthetic=False).count()
        self.stdout.write(
            f"Towns without a district: {without} (for researchers to assign: the admin's "
            "town list filters them with “district: empty”)."
        )
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
