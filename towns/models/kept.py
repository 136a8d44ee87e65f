"""Profiles and dashboards computed once per change, not once per request (issue 19)."""

from django.db import models

from towns.models.places import Town


class KeptProfile(models.Model):
    """Derived, never edited: one of a town's computed reads (``kind``) as one viewer level
    sees it in one language, as of one day, kept with the data state it was computed from
    (:mod:`towns.kept`). The kinds:

    * ``profile``: the profile of the API (``/api/v1/towns/<slug>/profile/``); ``body`` is the
      JSON text of the serializer's output, in its order (``jsonb`` would reorder the members,
      and a kept answer must be byte for byte the computed one);
    * ``dashboard``: the HTML of the town's dashboard page between its header and footer (what
      ``towns/_dashboard.html`` renders; the page around it is rendered per request), with a
      mark in the place of its indicators' section;
    * ``indicators``: that section (``towns/_dashboard_indicators.html``).

    ``state`` is the data state of the kind's scope (``atlas_data_state('town', slug)`` for a
    profile and a dashboard: every write without a region, and the town's own; ``'region'``
    for the indicators' section, which shows the regional ranks and medians) and the release
    of the code; a row is read
    only while both are unchanged and ``as_of`` is today, so a kept row is never behind the
    data. Filled and kept
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
    kind = models.CharField(max_length=16, default="profile")
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
                fields=["town", "kind", "level", "language"], name="kept_read_one_per_viewer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.town_id}/{self.kind}/{self.level}/{self.language}/{self.as_of}"


class KeptDocument(models.Model):
    """Derived, never edited: a read of many towns computed once per change (:mod:`towns.kept`,
    "Kept documents"), as one viewer level sees it in one language, kept with the data state
    it was computed from. The one document so far is ``map``: the features of the whole map
    (``/api/v1/towns.geojson`` without parameters), ``body`` being the members of its
    ``features`` array as PostgreSQL wrote them, joined with commas, and ``count`` their
    number. ``state`` is ``atlas_data_state('regionless')`` and the release of the code: a row
    is read only while both are unchanged. Its storage is ``EXTERNAL`` (the migration's SQL):
    a megabyte of text read whole on every request is not worth decompressing each time.
    """

    name = models.CharField(max_length=16)
    #: The viewer level ("0" public, "1" partner: governance.access.Viewer); never research.
    level = models.PositiveSmallIntegerField()
    language = models.CharField(max_length=8)
    state = models.TextField()
    count = models.PositiveIntegerField()
    body = models.TextField()
    #: The weak ETag of the answer (``governance.api.etag.weak_etag``), computed when it was
    #: kept: hashing a megabyte on every request cost a fifth of it.
    etag = models.CharField(max_length=40)
    #: The whole answer gzip-compressed as ``governance.middleware.ApiCompressionMiddleware``
    #: would compress it, for the clients that accept it (browsers, HTTP libraries): compressing the
    #: megabyte on every request cost twice the rest of the request (22 ms against 7.6).
    gzipped = models.BinaryField(default=b"")
    made_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name", "level", "language"], name="kept_document_one_per_viewer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}/{self.level}/{self.language}"
