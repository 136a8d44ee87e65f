"""The admin of changes for review (:mod:`governance.revisions`).

Reviewers (``governance.publish_record``) see every pending change, field by field (old →
new, with who and when), approve it or send it back with a comment; "Approve selected"
approves many at once. Researchers see their own changes: pending ones (which they may
withdraw) and those sent back, with the reviewer's comment. Nobody adds, edits or deletes a
revision here: they are made by saving records and decided by the buttons.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from governance import revisions
from governance.audit import validation_message
from governance.models import Revision
from governance.workflow import may_publish


class RecordKindFilter(admin.SimpleListFilter):
    """Filter by kind of record, named as people name it ("Cooperation case")."""

    title = _("kind of record")
    parameter_name = "kind_of_record"

    def lookups(self, request, model_admin):
        ids = model_admin.get_queryset(request).values_list("content_type", flat=True).distinct()
        kinds = []
        for content_type in ContentType.objects.filter(pk__in=set(ids)):
            model = content_type.model_class()
            label = capfirst(model._meta.verbose_name) if model else content_type.model
            kinds.append((str(content_type.pk), label))
        return sorted(kinds, key=lambda kind: str(kind[1]))

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(content_type_id=self.value())
        return queryset


class AuthorFilter(admin.SimpleListFilter):
    title = _("author")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("yes", _("My changes"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(author=request.user)
        return queryset


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ["object_repr", "record_kind", "kind", "author", "created_at", "status"]
    list_display_links = ["object_repr"]
    list_filter = ["status", RecordKindFilter, "kind", AuthorFilter]
    list_select_related = ["content_type", "author"]
    search_fields = ["object_repr", "comment"]
    date_hierarchy = "created_at"
    actions = ["approve_selected"]
    change_form_template = "admin/governance/revision_change.html"

    @admin.display(description=_("kind of record"), ordering="content_type__model")
    def record_kind(self, revision):
        return revisions.model_label(revision)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if may_publish(request.user):
            return queryset
        return queryset.filter(author=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return may_publish(request.user)

    @admin.action(description=_("Approve selected changes"), permissions=["approve"])
    def approve_selected(self, request, queryset):
        result = revisions.approve_all(
            queryset.filter(status=Revision.Status.PENDING), by=request.user
        )
        if result["approved"]:
            self.message_user(
                request,
                ngettext(
                    "%(count)d change approved.", "%(count)d changes approved.", result["approved"]
                )
                % {"count": result["approved"]},
                messages.SUCCESS,
            )
        for revision, message in result["errors"]:
            self.message_user(
                request,
                gettext("Not approved: «%(record)s»: %(message)s")
                % {"record": revision.object_repr, "message": message},
                messages.ERROR,
            )

    # -- one revision: its changes and the decision

    def get_urls(self):
        def decision(view, name):
            return path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(require_POST(view)),
                name=f"governance_revision_{name.replace('-', '_')}",
            )

        return [
            decision(self.approve_view, "approve"),
            decision(self.send_back_view, "send-back"),
            decision(self.withdraw_view, "withdraw"),
            *super().get_urls(),
        ]

    def _revision(self, request, object_id) -> Revision:
        revision = self.get_queryset(request).filter(pk=unquote(object_id)).first()
        if revision is None:
            raise Http404
        return revision

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        revision = self._revision(request, object_id)
        model = revision.content_type.model_class()
        record_url = ""
        if model is not None and model._base_manager.filter(pk=revision.object_id).exists():
            opts = model._meta
            try:
                record_url = reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change", args=[revision.object_id]
                )
            except NoReverseMatch:
                record_url = ""
        pending = revision.status == Revision.Status.PENDING
        context = {
            **self.admin_site.each_context(request),
            "title": format_html("{}: {}", revisions.model_label(revision), revision.object_repr),
            "subtitle": None,
            "opts": self.model._meta,
            "revision": revision,
            "record_kind": revisions.model_label(revision),
            "record_url": record_url,
            "rows": revisions.diff_rows(revision),
            "may_decide": pending and may_publish(request.user),
            "may_withdraw": pending and revision.author_id == request.user.pk,
            "own_change": revision.author_id == request.user.pk,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_form_template, context)

    def _decide(self, request, object_id, decide, done: str):
        revision = self._revision(request, object_id)
        try:
            decide(revision)
        except (ValidationError, PermissionDenied) as error:
            text = validation_message(error) if isinstance(error, ValidationError) else str(error)
            self.message_user(request, text, messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:governance_revision_change", args=[revision.pk])
            )
        self.message_user(request, f"{done}: «{revision.object_repr}»", messages.SUCCESS)
        queue = reverse("admin:governance_revision_changelist")
        return HttpResponseRedirect(f"{queue}?status__exact=pending")

    def approve_view(self, request, object_id):
        return self._decide(
            request,
            object_id,
            lambda revision: revisions.approve(revision, by=request.user),
            gettext("Approved and published"),
        )

    def send_back_view(self, request, object_id):
        comment = request.POST.get("comment", "")
        return self._decide(
            request,
            object_id,
            lambda revision: revisions.send_back(revision, by=request.user, comment=comment),
            gettext("Sent back to its author"),
        )

    def withdraw_view(self, request, object_id):
        return self._decide(
            request,
            object_id,
            lambda revision: revisions.withdraw(revision, by=request.user),
            gettext("Withdrawn"),
        )
