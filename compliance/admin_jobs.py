"""Compliance jobs in the admin: the status page of each (with its download link), the download
itself (permission checked, streamed from disk), and the GDPR subject page that starts them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from compliance import gdpr, services
from compliance.admin_audit import EXPORT_PERM, JOB_PERM, accepted
from compliance.models import ComplianceJob
from registry.admin import ReadOnlyAdmin


class SubjectForm(forms.Form):
    ACTIONS = (("export", "Export everything held about the subject"), ("erase", "Erase the subject"))

    kind = forms.ChoiceField(choices=(("consumer", "Consumer (name or id)"), ("user", "Admin user (username or id)"),
                                      ("ip", "Client IP address")))  # fmt: skip
    value = forms.CharField(max_length=200, label="Subject")
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect, initial="export")
    anonymise_consumer = forms.BooleanField(
        required=False, initial=True, label="Also anonymise the consumer (rename, disable, revoke its keys)"
    )
    confirm = forms.BooleanField(required=False, label="I confirm the erasure (it cannot be undone)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "kind" in data and "value" in data:
            try:
                self.subject = gdpr.resolve_subject(data["kind"], data["value"])
            except ValidationError as exc:
                self.add_error("value", exc)
        if data.get("action") == "erase" and not data.get("confirm"):
            self.add_error("confirm", "Tick this to erase.")
        return data


class ComplianceJobAdmin(ReadOnlyAdmin):
    list_display = ("pk", "kind", "status", "requested_by", "created_at", "finished_at", "rows", "download")
    list_filter = ("kind", "status")
    list_select_related = ("requested_by",)
    readonly_fields = ("kind", "status", "params", "requested_by", "created_at", "finished_at", "rows",
                       "download", "error")  # fmt: skip
    fields = readonly_fields

    # Jobs start from the export and GDPR pages; their rows are never edited by hand.
    @admin.display(description="file")
    def download(self, obj: ComplianceJob) -> SafeString | str:
        if services.job_file(obj) is None:
            return "-" if obj.status != ComplianceJob.Status.PENDING else "pending (reload this page)"
        url = reverse("admin:compliance_compliancejob_download", args=[obj.pk])
        return format_html('<a href="{}" class="download">download {}</a>', url, obj.file)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:job_id>/download/", view(self.download_view), name="compliance_compliancejob_download"),
            path("gdpr/", view(self.gdpr_view), name="compliance_compliancejob_gdpr"),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, job_id: int) -> FileResponse:
        if not request.user.has_perm(EXPORT_PERM):
            raise PermissionDenied
        job = ComplianceJob.objects.filter(pk=job_id).first()
        file = services.job_file(job) if job is not None else None
        if file is None:
            raise Http404("No such file: the job is not done, or failed.")
        return FileResponse(file.open("rb"), as_attachment=True, filename=file.name)

    def gdpr_view(self, request: HttpRequest) -> HttpResponse:
        if not (request.user.has_perm(EXPORT_PERM) and request.user.has_perm(JOB_PERM)):
            raise PermissionDenied
        form = SubjectForm(request.POST or None)
        context = {**self.admin_site.each_context(request), "title": "GDPR subject", "form": form, "opts": self.opts}
        if request.method != "POST" or not form.is_valid():
            return TemplateResponse(request, "admin/compliance/compliancejob/gdpr.html", context)
        data, subject = form.cleaned_data, form.subject
        kind = ComplianceJob.Kind.ERASURE if data["action"] == "erase" else ComplianceJob.Kind.SUBJECT_EXPORT
        job = ComplianceJob.objects.create(
            kind=kind,
            params={"kind": subject.kind, "value": subject.value, "anonymise_consumer": data["anonymise_consumer"]},
            requested_by=request.user if isinstance(request.user, User) else None,
        )
        if (
            subject.events()[: settings.GATEWAY_AUDIT_SYNC_GDPR_LIMIT + 1].count()
            > settings.GATEWAY_AUDIT_SYNC_GDPR_LIMIT
        ):
            services.enqueue(job)
            return accepted(request, job, self.admin_site.each_context(request))
        job = services.run_job(job.pk)
        level = messages.SUCCESS if job.status == ComplianceJob.Status.DONE else messages.ERROR
        self.message_user(request, f"{job.get_kind_display()} #{job.pk}: {job.status}, {job.rows} events.", level)
        return HttpResponseRedirect(reverse("admin:compliance_compliancejob_change", args=[job.pk]))
