"""python manage.py generate_scale_data: a reproducible synthetic dataset for the benchmark."""

import time

from django.core.management.base import BaseCommand

from csos.scale import generate


class Command(BaseCommand):
    help = (
        "Generate seeded synthetic towns, indicator values, persons, CSOs and links (every row "
        "marked synthetic), replacing an earlier generated set. Reference size: --towns 2000 "
        "--indicators 60 --years 20 --csos 20000."
    )

    def add_arguments(self, parser):
        parser.add_argument("--towns", type=int, default=2000)
        parser.add_argument("--indicators", type=int, default=60)
        parser.add_argument("--years", type=int, default=20)
        parser.add_argument("--csos", type=int, default=20000)
        parser.add_argument("--links", type=int, default=None, help="default: 3 per CSO")
        parser.add_argument("--persons", type=int, default=None, help="default: 10 per town")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, **o):
        start = time.perf_counter()
        report = generate(
            towns=o["towns"],
            indicators=o["indicators"],
            years=o["years"],
            csos=o["csos"],
            links=o["links"],
            persons=o["persons"],
            seed=o["seed"],
        )
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(f"Scale data generated in {time.perf_counter() - start:.1f} s.")
        )
