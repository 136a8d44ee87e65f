"""Profiles computed once per change, not once per request (issue 19)."""

from django.db import models

from towns.models.places import Town


class KeptProfile(models.Model):
    """Derived, never edited: a town's computed profile (``/api/v1/towns/<slug>/profile/``) as
    one viewer level sees it in one language, as of one day, kept with the data state it was
    computed from (:mod:`towns.kept`).

    ``state`` is the town's scoped data state (``atlas_data_state('town', slug)``: every write
    without a region, and the town's own) and the release of the code; a row is read only
    while both are unchanged and ``as_of`` is today, so a kept profile is never behind the data.
    ``body`` is the JSON text of the serializer's output, in its order (``jsonb`` would reorder
    the members, and a kept answer must be byte for byte the computed one). Filled and kept
    current by ``manage.py keep_profiles``; the rows go with their town (``ON DELETE
    CASCADE``, in the migration's SQL).
    """

    town = models.ForeignKey(
        Town,
        on_delete=models.CASCADE,
        related_name="kept_profiles",
        # The constraint is the migration's, with ON DELETE CASCADE: a town deleted in SQL
        # takes its rows with it, as one deleted through Django does.
        db_constraint=False,
    )
    #: The viewer level ("0" public, "1" partner: governance.access.Viewer); never research.
    level = models.PositiveSmallIntegerField()
    language = models.CharField(max_length=8)
    as_of = models.DateField()
    state = models.TextField()
    body = models.TextField()
    made_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["town", "level", "language"], name="kept_profile_one_per_viewer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.town_id}/{self.level}/{self.language}/{self.as_of}"
