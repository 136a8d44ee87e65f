"""What every app shares: timestamps, research records with access levels, and evidence."""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from governance.access import AccessLevel, PublicationState, ResearchQuerySet


def audited():
    """Keep every insert, update and delete of a model in its event table (PostgreSQL triggers).

    Triggers also catch queryset and bulk updates, which no signal sees. Who and where come from
    ``pghistory.context`` (set per request by the middleware, and by commands and imports).
    """
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent()
    )


def active_language() -> str:
    """The two-letter code of the language being served ("en" outside a request)."""
    return (get_language() or "en")[:2]


def in_active_language(obj, field: str, english: str) -> str:
    """``obj.<field>_<language>`` for the active language; ``english`` when it is empty."""
    return getattr(obj, f"{field}_{active_language()}", "") or english


class LocalName:
    """``name`` for a model with ``name_en``, ``name_be`` and ``name_ru``: the name in the active
    language, English when that one is empty (templates mark its language with the
    ``in_its_language`` filter)."""

    @property
    def name(self) -> str:
        return in_active_language(self, "name", self.name_en)


class TimeStamped(models.Model):
    """Every record researchers edit: when it was made and changed, and its version.

    ``version`` is the optimistic lock against two researchers overwriting each other: it starts
    at 1 and the save service (:func:`governance.services.record_save`) raises it by one on
    every save, refusing a save that started from an older version. ``db_default`` fills it for
    rows inserted outside the ORM (raw SQL, COPY). Every model of the atlas that people edit
    derives from this class (research records and the reference data: places, posts,
    indicators, fields of activity), so every one of them has a version.
    """

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        db_default=1,
        editable=False,
        help_text=_("Raised by one on every save; a save from an older version is refused."),
    )

    class Meta:
        abstract = True


class Confidence(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


#: Where a research record's natural key must be unique: among the published records that are
#: not deleted. Drafts may repeat a key, so that creating a record never tells a writer that a
#: record they may not see holds it (governance.services.refuse_visible_duplicates tells them
#: of the ones they may see); the reviewer who publishes a second one meets the constraint.
PUBLISHED_LIVE = models.Q(state=PublicationState.PUBLISHED, deleted_at__isnull=True)


def published_unique(*, fields: list[str], name: str, message) -> models.UniqueConstraint:
    """A natural key of research records: unique among the published live ones."""
    return models.UniqueConstraint(
        fields=fields, condition=PUBLISHED_LIVE, name=name, violation_error_message=message
    )


def published_unique_constraints(model) -> list[models.UniqueConstraint]:
    return [
        c
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.condition == PUBLISHED_LIVE
    ]


class ResearchRecord(TimeStamped):
    """A record of the research: it has an access level, a publication state and may be synthetic.

    ``is_synthetic`` marks generated or fictional data (demo values, invented people), shown as
    such on every page and in every API response so that nobody mistakes it for a fact.
    """

    access_level = models.CharField(
        _("access level"),
        max_length=12,
        choices=AccessLevel,
        # Closed by default: a researcher opens a record deliberately.
        default=AccessLevel.RESTRICTED,
        db_index=True,
    )
    state = models.CharField(
        _("publication state"),
        max_length=12,
        choices=PublicationState,
        default=PublicationState.DRAFT,
    )
    is_synthetic = models.BooleanField(
        _("synthetic"),
        default=False,
        help_text=_("Generated or fictional data, not a researched fact."),
    )
    # Researchers delete softly (recoverable from the admin); only admins purge.
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    objects = ResearchQuerySet.as_manager()

    class Meta:
        abstract = True


class Claim(ResearchRecord):
    """A statement about reality: it carries a confidence and must cite sources unless a draft.

    The rule "no source, no publication" is checked by :func:`governance.services.claim_check`
    after the many-to-many ``sources`` are saved (they do not exist yet in ``clean()``).
    """

    confidence = models.CharField(
        _("confidence"), max_length=8, choices=Confidence, default=Confidence.MEDIUM
    )

    class Meta:
        abstract = True


class OneTownRecord:
    """A research record that belongs to one town (its ``town`` foreign key) and is read by that
    town's pages (and those of the towns of the scoped rows it is linked to), besides the lists
    and exports of all towns: its published writes retire only those (governance.cache,
    "Scoped reads"). Only for a model no other town's page reads otherwise."""

    READ_CACHE_TOWN_COLUMN = "town_id"


class ReadThroughLinks:
    """A research record of no town that the pages of a town read only through the town's
    own records linked to it (a person, through the appointments they hold or shape and the
    CSOs they lead; an influence group, through the influence claims about it, the
    appointments it shapes and the mechanisms it takes part in; a source, through the records
    citing it): its published writes count for the towns of those records, and for the reads
    of all towns only when none links it (governance.cache, "Scoped reads"). So is a record
    that no town's record links at all (an informal tie, a group membership): it counts for
    the reads of all towns only."""

    READ_CACHE_THROUGH_LINKS = True


class OneRegionRead(OneTownRecord):
    """A research record of one town that every town of its region reads too (in its facts:
    a way of life, which each town's strategy advice compares with its region's): its
    published writes count as a write of the facts of every town of the region, and of no
    other region's (governance.cache, "Scoped reads")."""

    READ_CACHE_REGION_TOWNS = True


@audited()
class Source(ReadThroughLinks, ResearchRecord):
    """Evidence for a claim. Interviews carry an anonymised code only, never a name."""

    class Kind(models.TextChoices):
        INTERVIEW = "interview", _("Interview")
        DOCUMENT = "document", _("Document")
        MEDIA = "media", _("Media")
        STATISTICS = "statistics", _("Official statistics")
        OBSERVATION = "observation", _("Field observation")
        PRESENTATION = "presentation", _("Research presentation")
        DATASET = "dataset", _("Dataset")

    class Reliability(models.TextChoices):
        A = "A", _("A: confirmed by independent sources")
        B = "B", _("B: usually reliable")
        C = "C", _("C: fairly reliable")
        D = "D", _("D: not verified")

    #: A source is read by the pages of the towns whose records cite it (its claims' and
    #: values' towns: ``governance.models.ReadThroughLinks``), but a source of statistics or a
    #: dataset is cited by indicator values across most towns (one by 2.4 M values in 2,000
    #: towns at the scale data, where finding them took its write 2.5 s): its writes count
    #: for everything.
    EVERYWHERE_KINDS = (Kind.STATISTICS, Kind.DATASET)

    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    citation = models.CharField(_("citation"), max_length=500)
    date = models.DateField(_("date"), null=True, blank=True)
    url = models.URLField(_("URL"), max_length=500, blank=True)
    interview_code = models.CharField(
        _("interview code"),
        max_length=32,
        blank=True,
        help_text=_("Anonymised code of the interviewee, e.g. INT-2024-017. Never a name."),
    )
    reliability = models.CharField(
        _("reliability"), max_length=1, choices=Reliability, default=Reliability.C
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["citation"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="interview") | ~models.Q(interview_code=""),
                name="source_interview_has_code",
                violation_error_message=_("An interview source needs an anonymised code."),
            ),
            models.CheckConstraint(
                condition=models.Q(kind="interview") | models.Q(interview_code=""),
                name="source_code_only_for_interviews",
                violation_error_message=_("Only interview sources carry an interview code."),
            ),
        ]

    def __str__(self) -> str:
        return self.citation

    @classmethod
    def read_cache_everywhere(cls, row: str) -> str:
        kinds = ", ".join(f"'{kind}'" for kind in cls.EVERYWHERE_KINDS)
        return f"{row}.kind IN ({kinds})"

    def clean(self) -> None:
        super().clean()
        if self.interview_code and " " in self.interview_code.strip():
            raise ValidationError(
                {"interview_code": _("Use an anonymised code without spaces, not a name.")}
            )


class ReviewEvent(models.Model):
    """One step of the review workflow (submit, publish, unpublish, delete, restore): who, when.

    Kept apart from the audit trail so that the workflow of a record can be read at a glance;
    the full before/after of every change is in the pghistory event tables.
    """

    class Action(models.TextChoices):
        SUBMIT = "submit", _("Submitted for review")
        PUBLISH = "publish", _("Published")
        UNPUBLISH = "unpublish", _("Unpublished")
        RETURN = "return", _("Returned to draft")
        DELETE = "delete", _("Deleted (recoverable)")
        RESTORE = "restore", _("Restored")
        PURGE = "purge", _("Purged")
        APPROVE = "approve", _("Change approved")
        SEND_BACK = "send_back", _("Change sent back")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        "auth.User", verbose_name=_("by"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=12, choices=Action)
    model = models.CharField(_("model"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    from_state = models.CharField(_("from"), max_length=12, blank=True)
    to_state = models.CharField(_("to"), max_length=12, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("review event")
        verbose_name_plural = _("review events")
        indexes = [models.Index(fields=["model", "object_id"], name="review_event_record")]
        permissions = [
            ("publish_record", "Can publish and unpublish research records"),
            ("purge_record", "Can purge deleted research records for good"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.object_repr}"

    @property
    def record_kind(self) -> str:
        """The kind of record in words ("cooperation case"), never "csos.cooperationcase"."""
        from django.apps import apps

        try:
            return str(apps.get_model(self.model)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.model

    @property
    def from_state_label(self) -> str:
        return state_label(self.from_state)

    @property
    def to_state_label(self) -> str:
        return state_label(self.to_state)


def state_label(code: str) -> str:
    """The words of a publication state code ("in_review" → "In review"); "" stays ""."""
    return str(PublicationState(code).label) if code in PublicationState.values else code


class FieldAccessLog(models.Model):
    """Who read restricted fields of which record through the API, and when (never the values)."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        "auth.User", verbose_name=_("user"), on_delete=models.PROTECT, related_name="+"
    )
    model = models.CharField(_("model"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    fields = models.CharField(_("fields"), max_length=500)
    path = models.CharField(_("request path"), max_length=300)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("restricted field access")
        verbose_name_plural = _("restricted field accesses")

    def __str__(self) -> str:
        return f"{self.user} read {self.fields} of {self.model} {self.object_id}"


class ApiScope(models.TextChoices):
    """What an API token may do. Read scopes cap what the token sees (never above the owner's
    role); write scopes open writes, through the same services the admin uses."""

    READ_PUBLIC = "read:public", _("Read published public data")
    READ_PARTNER = "read:partner", _("Read published public and partner data")
    READ_RESTRICTED = "read:restricted", _("Read everything the owner may see")
    WRITE_INDICATORS = "write:indicators", _("Write indicator values")
    WRITE_RESEARCH = "write:research", _("Write any research record")


class RateCounter(models.Model):
    """A request counter of the API's rate limits (governance.api.throttling), one per client
    and time window, kept in PostgreSQL when no shared cache (``REDIS_URL``) is configured, so
    that every worker and every machine count against the same budget. An UNLOGGED table
    (migration 0009): a crash may lose counts, never slows a write with the WAL."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "API rate counter"

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class ApiClient(models.Model):
    """A named API client: one knox token with its scopes, expiry and revocation.

    The key is never stored: knox keeps only its SHA-512 digest and the first characters
    (``token_key``) to find the candidate row. The client row outlives its token, so that the
    record of who held which access stays after revocation or expiry.
    """

    user = models.ForeignKey(
        "auth.User", verbose_name=_("owner"), on_delete=models.CASCADE, related_name="api_clients"
    )
    token = models.OneToOneField(
        settings.KNOX_TOKEN_MODEL,
        verbose_name=_("token"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="client",
    )
    name = models.CharField(_("name"), max_length=100)
    token_key = models.CharField(
        _("key prefix"), max_length=25, help_text=_("The first characters of the key, to find it.")
    )
    scopes = ArrayField(
        models.CharField(max_length=24, choices=ApiScope), verbose_name=_("scopes"), default=list
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["user", "name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_client_unique_active_name",
                violation_error_message=_("This user already has an active client of that name."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


class EntryDefault(models.Model):
    """The access level and state a new record of one kind starts with, set by the research team.

    Without a row the model's own defaults apply (restricted, draft). Used as the initial values
    of admin forms and the workspace, and for API creates and imports that do not say
    (:mod:`governance.entry`). Only reviewers and admins edit these rows; a new record can never
    start as published: publishing always goes through a reviewer.
    """

    model = models.CharField(
        _("kind of record"),
        max_length=64,
        unique=True,
        help_text=_("The model's label, e.g. towns.indicatorvalue."),
    )
    access_level = models.CharField(
        _("access level"), max_length=12, choices=AccessLevel, default=AccessLevel.RESTRICTED
    )
    state = models.CharField(
        _("publication state"),
        max_length=12,
        choices=[
            (PublicationState.DRAFT, PublicationState.DRAFT.label),
            (PublicationState.IN_REVIEW, PublicationState.IN_REVIEW.label),
        ],
        default=PublicationState.DRAFT,
    )

    class Meta:
        ordering = ["model"]
        verbose_name = _("entry default")
        verbose_name_plural = _("entry defaults")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="published"),
                name="entry_default_never_published",
                violation_error_message=_("A new record is never published without review."),
            )
        ]

    def __str__(self) -> str:
        return self.model


def audited_links(model: type[models.Model]) -> None:
    """Keep every add and remove of ``model``'s many-to-many links (e.g. a claim's sources).

    The link tables Django creates are tracked like any model, so restoring a purged claim can
    bring its sources back and a changed list of sources shows in the history.
    """
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        if not through._meta.auto_created:
            continue  # an explicit through model is decorated with audited() itself
        pghistory.track(
            pghistory.InsertEvent("link.add"),
            pghistory.DeleteEvent("link.remove"),
            obj_field=None,
            app_label=model._meta.app_label,
            model_name=f"{model.__name__}{field.name.title().replace('_', '')}Event",
        )(through)


class Revision(models.Model):
    """A change to a record under review, waiting for a reviewer (see governance.revisions).

    The record's row keeps its published values until a reviewer approves: every read path
    reads the row, so the public and partners see the published version. ``changes`` maps
    field names to ``{"old": …, "new": …}`` (JSON values as the field stores them; lists of
    ids for many-to-many relations). ``base_version`` is the record's version when the change
    was proposed; approval compares each field's current value with its ``old`` value and
    refuses when another change touched the same field meanwhile.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        SENT_BACK = "sent_back", _("Sent back")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Kind(models.TextChoices):
        CHANGE = "change", _("Change")
        DELETE = "delete", _("Deletion")
        CREATE = "create", _("New record")

    content_type = models.ForeignKey(
        "contenttypes.ContentType", verbose_name=_("kind of record"), on_delete=models.PROTECT
    )
    #: Empty for a new reference record until a reviewer approves it (it has no row before).
    object_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    record = GenericForeignKey("content_type", "object_id")
    object_repr = models.CharField(_("record"), max_length=200)
    #: The towns the record belongs to (ids), for the reviewers' queue by town.
    towns = ArrayField(models.BigIntegerField(), verbose_name=_("towns"), default=list, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind, default=Kind.CHANGE)
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.PENDING, db_index=True
    )
    changes = models.JSONField(_("changes"), default=dict, encoder=DjangoJSONEncoder)
    base_version = models.PositiveIntegerField(_("based on version"), null=True)
    via = models.CharField(_("made through"), max_length=20, blank=True)
    author = models.ForeignKey(
        "auth.User", verbose_name=_("author"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed at"), auto_now=True)
    reviewer = models.ForeignKey(
        "auth.User",
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    comment = models.TextField(_("reviewer's comment"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("change for review")
        verbose_name_plural = _("changes for review")
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="revision_record"),
            GinIndex(fields=["towns"], name="revision_towns"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "author"],
                condition=models.Q(status="pending"),
                name="revision_one_pending_per_author",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.object_repr}"
