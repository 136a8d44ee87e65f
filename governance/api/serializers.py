"""Base serializers of the API: the field-redaction policy applied to every response.

* :class:`RedactingModelSerializer` leaves out (the key is **absent**, not null) every field
  :func:`governance.redaction.hidden_fields` hides from the viewer, and notes which restricted
  fields a research-level viewer was shown so that the view can write one
  :class:`governance.models.FieldAccessLog` row per record (names of fields, never values).
* :class:`PersonRefField` nests a person (id and names) only when the viewer may see that
  person's record and names; otherwise the key is absent, so that a public appointment shows
  the post and dates but not who holds it.
* :class:`ResearchWriteSerializer` narrows every related field to the records the writer may
  see, so that a write can never point at (and so reveal) a hidden record.

No method here runs a query: related records come from the view's ``select_related`` and
``prefetch_related``; the access log is written once per response by the view.
"""

from __future__ import annotations

from collections import OrderedDict

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

from governance.access import LEVELS_FOR, PublicationState, Viewer, may_see_level, viewer_level
from governance.models import FieldAccessLog
from governance.redaction import PERSON_NAME_FIELDS, hidden_fields, restricted_fields_shown

#: Attribute of the request that collects restricted-field reads until the view logs them.
READS_ATTR = "_atlas_restricted_reads"


def request_user(context: dict):
    request = context.get("request")
    return getattr(request, "user", None)


def record_visible(instance: models.Model, user) -> bool:
    """In-memory twin of ``visible_to(user)`` for a record already loaded with its parent.

    Used for nested records (an appointment's person) so that checking them costs no query.
    Models without an access level (places, posts, indicators) are public reference data.
    """
    if getattr(instance, "deleted_at", None) is not None:
        return False
    if not hasattr(instance, "access_level"):
        return True
    level = viewer_level(user)
    if level == Viewer.RESEARCH:
        return True
    return (
        instance.state == PublicationState.PUBLISHED and instance.access_level in LEVELS_FOR[level]
    )


def person_names_visible(person, user) -> bool:
    """Whether ``user`` may see who ``person`` is (the record and its names)."""
    return record_visible(person, user) and may_see_level(user, person.names_access_level)


def note_restricted_read(request, instance: models.Model, fields) -> None:
    """Remember that ``request`` was shown restricted ``fields`` of ``instance``."""
    if request is None or not fields or not getattr(request.user, "is_authenticated", False):
        return
    reads: dict = request.__dict__.setdefault(READS_ATTR, OrderedDict())
    key = (instance._meta.label_lower, str(instance.pk))
    reads.setdefault(key, set()).update(fields)


def flush_restricted_reads(request) -> int:
    """Write the noted restricted-field reads of ``request`` (one insert); returns the rows."""
    reads = request.__dict__.pop(READS_ATTR, None) if request is not None else None
    if not reads:
        return 0
    path = request.get_full_path()[:300]
    rows = [
        FieldAccessLog(
            user=request.user,
            model=model,
            object_id=object_id,
            fields=",".join(sorted(fields))[:500],
            path=path,
        )
        for (model, object_id), fields in reads.items()
    ]
    FieldAccessLog.objects.bulk_create(rows)
    return len(rows)


class RedactingSerializerMixin:
    """Leave out the fields the viewer may not see; note restricted ones it does see."""

    def to_representation(self, instance):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        hidden = hidden_fields(instance, user)
        ret = OrderedDict()
        for field in self._readable_fields:
            if field.field_name in hidden:
                continue  # absent, never null: the viewer must not learn the field is there
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            if check_for_none is None:
                ret[field.field_name] = None
            else:
                ret[field.field_name] = field.to_representation(attribute)
        shown = restricted_fields_shown(instance, user) & ret.keys()
        if shown:
            note_restricted_read(request, instance, shown)
        return ret


class RedactingModelSerializer(RedactingSerializerMixin, serializers.ModelSerializer):
    """A model serializer that obeys :mod:`governance.redaction`."""


class PersonRefSerializer(serializers.Serializer):
    """Who a person is: shown only to viewers who may see the person's names."""

    id = serializers.IntegerField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    name_be = serializers.CharField(read_only=True)
    name_ru = serializers.CharField(read_only=True)
    is_synthetic = serializers.BooleanField(read_only=True)


@extend_schema_field(PersonRefSerializer)
class PersonRefField(serializers.Field):
    """A nested person, or no key at all when the viewer may not see who it is."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        person = super().get_attribute(instance)
        if person is None:
            return None
        if not person_names_visible(person, request_user(self.context)):
            raise SkipField
        return person

    def to_representation(self, value):
        request = self.context.get("request")
        if value.names_access_level == "restricted":
            note_restricted_read(
                request, value, {f for f in PERSON_NAME_FIELDS if f.startswith("name_")}
            )
        return PersonRefSerializer(value, context=self.context).data


class PersonRefListField(serializers.ListField):
    """Nested persons (a prefetched relation), each only if the viewer may see who it is."""

    child = PersonRefSerializer()

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, data):
        user = request_user(self.context)
        people = [p for p in data.all() if person_names_visible(p, user)]
        field = PersonRefField()
        field.bind("person", self)
        return [field.to_representation(p) for p in people]


class VisibleIdsField(serializers.ListField):
    """Ids of a prefetched relation (already narrowed by ``visible_to`` in the view)."""

    child = serializers.IntegerField()

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, data):
        return [obj.pk for obj in data.all()]


class VersionedWriteSerializer(serializers.ModelSerializer):
    """A write that may state the ``version`` it started from (the optimistic lock).

    The field is added to every write serializer of a versioned model. It is optional: a
    PUT or PATCH with a ``version`` other than the record's current one answers 409 Conflict
    (see :class:`governance.api.views.ServiceWriteMixin`); without it the write proceeds from
    the version the server just read. Responses carry ``version`` read-only.
    """

    version = serializers.IntegerField(
        required=False,
        write_only=True,
        min_value=1,
        help_text="The version you read (GET). If the record has moved on since, the write "
        "answers 409 Conflict with the current record and nothing is written.",
    )

    def get_field_names(self, declared_fields, info):
        names = list(super().get_field_names(declared_fields, info))
        model = self.Meta.model
        if "version" not in names and any(f.name == "version" for f in model._meta.fields):
            names.append("version")
        return names


class ResearchWriteSerializer(VersionedWriteSerializer):
    """What a writer sends: related records limited to those the writer may see.

    ``state`` is not written here: a record is created as a draft and moves through the
    review workflow (:mod:`governance.workflow`: submit, publish, unpublish), so that nothing
    reaches the public without a review.
    """

    def get_fields(self):
        fields = super().get_fields()
        user = request_user(self.context)
        for field in fields.values():
            related = getattr(field, "child_relation", field)
            queryset = getattr(related, "queryset", None)
            if queryset is not None and hasattr(queryset, "visible_to"):
                related.queryset = queryset.visible_to(user)
        return fields
