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
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.validators import UniqueValidator

from governance.redaction import (
    PERSON_NAME_FIELDS,
    READS_ATTR,
    flush_restricted_reads,
    hidden_fields,
    is_access_field,
    may_change_access,
    note_restricted_read,
    person_names_visible,
    record_visible,
    restricted_fields_shown,
)

# The API's names for the access log and the in-memory visibility check (one implementation,
# in governance.redaction).
__all__ = ["READS_ATTR", "flush_restricted_reads", "record_visible"]


def request_user(context: dict):
    request = context.get("request")
    return getattr(request, "user", None)


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


class URIField(serializers.URLField):
    """A URL written as a URI: a stored IRI (``https://ru.wikipedia.org/wiki/Ольшаны``) goes
    out percent-encoded, as the schema's ``format: uri`` promises (RFC 3986 allows ASCII only);
    what a client sends is validated as before. Every model serializer's ``URLField`` is one
    (governance.apps)."""

    def to_representation(self, value):
        return iri_to_uri(super().to_representation(value))


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


def json_types(field) -> tuple[type, ...] | None:
    """The JSON types a body may give ``field`` (as the schema declares it), or None when the
    field checks its own input (nested serializers, JSON values)."""
    if isinstance(field, serializers.ManyRelatedField | serializers.ListField):
        return (list,)
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField | serializers.PrimaryKeyRelatedField):
        return (int,)
    if isinstance(field, serializers.FloatField):
        return (int, float)
    if isinstance(field, serializers.DecimalField):
        # Exact: a decimal string ("12.5"), or a whole number; a JSON float would round.
        return (str, int)
    if isinstance(field, serializers.ChoiceField):
        kinds = {type(key) for key in field.choices}
        return (int,) if kinds == {int} else (str,) if kinds == {str} else None
    if isinstance(
        field,
        serializers.CharField
        | serializers.SlugRelatedField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.TimeField,
    ):
        return (str,)
    return None


TYPE_NAMES = {list: "a list", bool: "true or false", int: "a whole number", float: "a number"}


class StrictJSONTypes:
    """A body's values have the JSON types the schema gives them, or the write is a 400.

    DRF is lenient by design (it reads HTML forms): ``"true"`` for a boolean, ``5`` for a text,
    ``"7"`` for a number, ``""`` for "no town". The API reads only JSON, so such a value is a
    mistake of the client, and what the schema promises is what the server accepts: exactly
    these types (``null`` where the field allows it).
    """

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():
                if field.read_only or name not in data:
                    continue
                value = data[name]
                if value is None:
                    continue  # the field's own allow_null decides
                wanted = json_types(field)
                if wanted is None:
                    continue
                wrong = not isinstance(value, wanted) or (
                    isinstance(value, bool) and bool not in wanted
                )
                if not wrong and value == "" and isinstance(field, serializers.RelatedField):
                    errors[name] = [
                        ErrorDetail(_("Use null for none, not an empty text."), code="blank")
                    ]
                elif wrong:
                    names = " or ".join(TYPE_NAMES.get(t, "a text") for t in wanted)
                    errors[name] = [
                        ErrorDetail(
                            _("Expected %(types)s.") % {"types": names}, code="incorrect_type"
                        )
                    ]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class VersionedWriteSerializer(StrictJSONTypes, serializers.ModelSerializer):
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
        max_value=2147483647,
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
        may_open = may_change_access(user)
        for name, field in fields.items():
            if not may_open and is_access_field(name):
                # Who may see a record is a reviewer's decision: read-only for other writers
                # (like ``state``, a value sent for it is ignored and the record stays closed).
                field.read_only = True
                field.required = False
            related = getattr(field, "child_relation", field)
            queryset = getattr(related, "queryset", None)
            if queryset is not None and hasattr(queryset, "visible_to"):
                related.queryset = queryset.visible_to(user)
            for validator in field.validators:
                # "already exists" only about records the writer may see: a hidden one must
                # not be confirmed by an error (see validate() for what happens instead).
                if isinstance(validator, UniqueValidator) and hasattr(
                    validator.queryset, "visible_to"
                ):
                    validator.queryset = validator.queryset.visible_to(user)
        return fields

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        for f in model._meta.concrete_fields:
            value = attrs.get(f.name)
            if not (f.unique and isinstance(f, models.SlugField) and value):
                continue
            # The slug is taken by a record the writer may not see (the visible ones were
            # refused above): the record gets the next free slug instead of an error, so that
            # no answer tells the writer the hidden record exists.
            attrs[f.name] = free_slug(model, f, value, instance=self.instance)
        return attrs


def free_slug(model, field, wanted: str, *, instance=None) -> str:
    """``wanted``, or ``wanted-2``, ``wanted-3``, ... : the first no record of ``model`` holds
    (deleted and hidden records included), within the field's length."""
    taken = model._base_manager.all()
    if instance is not None and instance.pk is not None:
        taken = taken.exclude(pk=instance.pk)
    candidate, n = wanted, 1
    while taken.filter(**{field.name: candidate}).exists():
        n += 1
        suffix = f"-{n}"
        candidate = wanted[: field.max_length - len(suffix)] + suffix
    return candidate
