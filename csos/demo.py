"""Demo data of the civil-society side, loaded by ``manage.py load_demo`` after towns."""


def load(report) -> None:
    """Nothing yet: the CSO issue adds organisations, links and cooperation cases."""
