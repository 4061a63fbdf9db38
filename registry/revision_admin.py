"""Config versions in the admin: the list, each version's snapshot, a field-by-field comparison of
any two (or of one with the configuration now), and "Roll back to this version": its own
permission, a reason, and a confirmation page showing what will change (``registry.revisions``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from registry.admin import ReadOnlyAdmin, extend
from registry.declarative import ConfigError
from registry.declarative.compare import compare, show
from registry.declarative.export import export_plain
from registry.models import ConfigRevision, Consumer, Route, Service, Target
from registry.revisions import roll_back

ROLLBACK_PERM = "registry.rollback_configrevision"


class RollbackForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept with the new version and audited."
    )


@admin.register(ConfigRevision)
class ConfigRevisionAdmin(ReadOnlyAdmin):
    list_display = ("version", "created_at", "actor", "source", "summary", "actions_column")
    list_filter = ("source",)
    search_fields = ("summary", "actor", "reason")
    fields = ("version", "created_at", "actor", "source", "summary", "reason", "rolled_back_to", "snapshot_text")
    readonly_fields = fields
    change_form_template = "admin/registry/configrevision/change_form.html"

    @admin.display(description="snapshot")
    def snapshot_text(self, obj: ConfigRevision) -> str:
        return format_html('<pre style="max-height:40em;overflow:auto">{}</pre>', obj.snapshot)

    @admin.display(description="")
    def actions_column(self, obj: ConfigRevision) -> str:
        compare_url = reverse("admin:registry_configrevision_compare", args=[obj.version])
        return format_html('<a href="{}">compare with now</a>', compare_url)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:version>/compare/", view(self.compare_view), name="registry_configrevision_compare"),
            path("<int:version>/rollback/", view(self.rollback_view), name="registry_configrevision_rollback"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            "can_roll_back": request.user.has_perm(ROLLBACK_PERM),
            "versions": ConfigRevision.objects.values_list("version", flat=True)[:500],
        }
        return super().change_view(request, object_id, form_url, extra)

    def _revision(self, request: HttpRequest, version: int) -> ConfigRevision:
        if not self.has_view_permission(request):
            raise PermissionDenied
        revision = ConfigRevision.objects.filter(version=version).first()
        if revision is None:
            raise Http404(f"No version {version} is recorded.")
        return revision

    def compare_view(self, request: HttpRequest, version: int) -> HttpResponse:
        """From ``?against=N`` (default: the configuration now) to ``version``, field by field."""
        revision = self._revision(request, version)
        raw = request.GET.get("against", "")
        if raw.isdigit():
            against = self._revision(request, int(raw))
            old, old_name = against.data, f"v{against.version}"
        else:
            old, old_name = export_plain(), "now"
        differences = compare(old, revision.data)
        rows = [(d.what, d.field or f"({d.verb})", show(d.old), show(d.new)) for d in differences]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{old_name} compared with v{revision.version}",
            "revision": revision,
            "old_name": old_name,
            "rows": rows,
            "can_roll_back": request.user.has_perm(ROLLBACK_PERM),
        }
        return TemplateResponse(request, "admin/registry/configrevision/compare.html", context)

    def rollback_view(self, request: HttpRequest, version: int) -> HttpResponse:
        revision = self._revision(request, version)
        if not request.user.has_perm(ROLLBACK_PERM):
            raise PermissionDenied
        form = RollbackForm(request.POST or None)
        problems: list[str] = []
        actor = request.user.get_username()
        if request.method == "POST" and form.is_valid():
            try:
                done = roll_back(revision, reason=form.cleaned_data["reason"], actor=actor)
            except ConfigError as exc:
                problems = exc.lines(f"v{revision.version}")
            else:
                if done.revision is None:
                    self.message_user(request, f"Nothing to roll back: the configuration already matches v{version}.")
                    return HttpResponseRedirect(reverse("admin:registry_configrevision_changelist"))
                self.message_user(
                    request,
                    f"Rolled back to v{version} as v{done.revision.version} ({len(done.changes)} change(s)).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:registry_configrevision_change", args=[done.revision.pk]))
        changes: list[str] = []
        if not problems:
            try:
                changes = [str(c) for c in roll_back(revision, reason="preview", actor=actor, dry_run=True).changes]
            except ConfigError as exc:
                problems = exc.lines(f"v{revision.version}")
        rows = [
            (d.what, d.field or f"({d.verb})", show(d.old), show(d.new)) for d in compare(export_plain(), revision.data)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Roll back to v{revision.version}",
            "revision": revision,
            "form": form,
            "changes": changes,
            "problems": problems,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/registry/configrevision/rollback.html", context)


# --- Drift: objects changed outside the file that manages them ----------------------------------


def object_name(obj: Model) -> str:
    """How versions and the diff name an object."""
    if isinstance(obj, Service):
        return f"service {obj.slug}"
    if isinstance(obj, Target):
        return f"target {obj.service.slug}/{obj.address}"
    if isinstance(obj, Route):
        return f"route {obj.name}"
    return f"consumer {obj}"


def drift_of(obj: Model) -> str | None:
    """A warning when the configuration was last applied from a file (``gateway_apply`` or the API's
    apply) and this object now differs from what that file made it."""
    applied = ConfigRevision.objects.filter(source=ConfigRevision.Source.APPLY).order_by("-version").first()
    if applied is None:
        return None
    name = object_name(obj)
    fields = sorted({d.field or "(the whole object)" for d in compare(applied.data, export_plain()) if d.what == name})
    if not fields:
        return None
    return (
        f"Changed outside the file applied in v{applied.version} ({applied.actor or 'unknown'}): "
        f"{', '.join(fields)}. The next apply of that file will undo it; change the file instead "
        f"(gateway_apply --check shows the drift)."
    )


class DriftWarning:
    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id) if request.method == "GET" else None  # type: ignore[attr-defined]
        warning = drift_of(obj) if obj is not None else None
        if warning:
            messages.warning(request, warning)
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


for _model in (Service, Target, Route, Consumer):
    extend(_model, DriftWarning)
