"""The Django admin for services, their targets and routes, and a read-only config version.

Feature apps extend these pages without editing them: a ``registry.sections.Section`` adds its
fields (fieldset, form fields, validation, save), and ``extend(model, mixin)`` adds what a mixin
brings (read-only panels, actions, list columns) to the admin class registered for ``model``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Model, Q, QuerySet
from django.forms.models import fields_for_model
from django.http import HttpRequest, HttpResponse

from registry import dynamic, layout
from registry import validators as v
from registry.guide import guide_form
from registry.models import ConfigVersion, Route, Service, Target
from registry.sections import Section, sections_of
from registry.services import config_change

admin.site.site_header = "Gateway admin"
admin.site.site_title = "Gateway admin"
admin.site.index_title = "Configuration"
admin.site.site_url = "/admin/overview/"  # "View site": the dashboard


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the gateway itself (history, results, events, the audit trail): viewed, never
    added or edited here, nor deleted unless ``deletable`` (and the model permission allows it)."""

    deletable = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


# Attributes of an extension that add to the admin's own instead of replacing them.
MERGED = ("actions", "readonly_fields", "list_display", "panels")


def extend(model: type[Model], mixin: type) -> None:
    """Register ``model`` again with ``mixin`` in front of the admin class it has now, so several apps
    can each add their part (from the app's ``admin.py``). The mixin's ``actions``,
    ``readonly_fields``, ``list_display`` and ``panels`` (read-only fieldsets, shown before the
    history) are added to the admin's own; its methods override as usual."""
    current = type(admin.site._registry[model])
    merged = {name: (*getattr(current, name, ()), *vars(mixin)[name]) for name in MERGED if name in vars(mixin)}
    admin.site.unregister(model)
    admin.site.register(model, type(current.__name__, (mixin, current), merged))


class RouteForm(forms.ModelForm):
    def clean_methods(self) -> str:
        # Checked here so a bad method is reported once: Route.clean() would repeat the field validator.
        value: str = self.cleaned_data["methods"]
        try:
            return ",".join(v.parse_methods(value))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class RouteInlineFormSet(forms.BaseInlineFormSet):
    """Route.clean() only sees saved routes; two new routes on one page must not clash either."""

    def clean(self) -> None:
        super().clean()
        seen: list[Route] = []
        for form in self.forms:
            route = form.instance
            unused_extra = route.pk is None and not form.has_changed()
            if unused_extra or not form.is_valid() or form.cleaned_data.get("DELETE") or not route.enabled:
                continue
            for other in seen:
                if _routes_clash(route, other):
                    raise ValidationError(f"Routes {other.name!r} and {route.name!r} match the same requests.")
            seen.append(route)


def _routes_clash(a: Route, b: Route) -> bool:
    same = v.route_tie_key(a.path_prefix, a.host, a.api_version, a.priority) == v.route_tie_key(
        b.path_prefix, b.host, b.api_version, b.priority
    )
    return same and v.methods_overlap(a.method_list, b.method_list)


# --- Sections on admin pages ------------------------------------------------------------------------


class SectionsForm(forms.ModelForm):
    """Base of the form ``section_form`` builds: the sections' fields beside the model's own."""

    sections: tuple[Section, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section_rows: list[tuple[Section, Model]] = []
        for section in self.sections:
            for name, value in section.values(self.instance).items():
                self.initial.setdefault(name, value)

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # the owner, with the cleaned values
        self.section_rows = []
        for section in self.sections:
            values = {name: self.cleaned_data[name] for name in section.fields if name in self.cleaned_data}
            row = section.build(self.instance, values)
            try:
                section.validate(row)
            except ValidationError as exc:
                self.add_error(None, exc)
            self.section_rows.append((section, row))

    def save_sections(self) -> None:
        for section, row in self.section_rows:
            section.store(row)


@cache
def section_form(base: type[forms.ModelForm], sections: tuple[Section, ...]) -> type[forms.ModelForm]:
    declared: dict[str, Any] = {"sections": sections}
    for section in sections:
        declared.update(fields_for_model(section.model, fields=section.fields))
    return type(f"{base.__name__}WithSections", (SectionsForm, base), declared)


def section_column(section: Section, name: str) -> Callable[[Model], Any]:
    field = section.form_field(name)

    def column(obj: Model) -> Any:
        return getattr(section.row(obj), name)

    column.short_description = field.verbose_name  # type: ignore[attr-defined]
    column.boolean = isinstance(field, models.BooleanField)  # type: ignore[attr-defined]
    column.__name__ = name
    return column


def section_filter(section: Section, name: str) -> type[admin.SimpleListFilter]:
    """A yes/no filter on a section's boolean field; owners without a row have the default."""
    field = section.form_field(name)
    related = section.related_name

    class Filter(admin.SimpleListFilter):
        title = str(field.verbose_name)
        parameter_name = name

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [("1", "Yes"), ("0", "No")]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
            if self.value() not in ("0", "1"):
                return queryset
            wanted = self.value() == "1"
            condition = Q(**{f"{related}__{name}": wanted})
            if wanted == field.get_default():
                condition |= Q(**{f"{related}__isnull": True})
            return queryset.filter(condition)

    return Filter


class ConfigAdmin(admin.ModelAdmin):
    """Shared by the configuration pages: sections, one locked config change per write, and bulk
    enable/disable actions (one save per object, so signals bump the config version once)."""

    actions = ("enable_selected", "disable_selected")

    # Shows a section's fields once its switch is on, and each group only where it applies.
    class Media:
        js = ("registry/guide.js",)

    panels: tuple[tuple[str, dict[str, Any]], ...] = ()  # read-only fieldsets added by extensions

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if self.model in layout.LAYOUTS:
            return layout.fieldsets(self.model, *self.panels, obj=obj)
        return super().get_fieldsets(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        sections = sections_of(self.model)
        if sections:
            kwargs["form"] = section_form(self.form, sections)
        return guide_form(super().get_form(request, obj, change, **kwargs))

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = [section_column(s, name) for s in sections_of(self.model) for name in s.list_display]
        return (*super().get_list_display(request), *columns)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = [section_filter(s, name) for s in sections_of(self.model) for name in s.list_filter]
        return (*super().get_list_filter(request), *filters)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        related = [s.related_name for s in sections_of(self.model) if s.list_display]
        queryset = super().get_queryset(request)
        return queryset.select_related(*related) if related else queryset

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if isinstance(form, SectionsForm):
            form.save_sections()

    # Every admin write is one locked config change: validation and save see the same state as any
    # concurrent API request or gateway_apply, and the whole page bumps the version once.
    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return super().changeform_view(request, *args, **kwargs)
        with config_change():
            return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return super().delete_view(request, *args, **kwargs)
        with config_change():
            return super().delete_view(request, *args, **kwargs)

    @admin.action(description="Enable selected %(verbose_name_plural)s")
    def enable_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected %(verbose_name_plural)s")
    def disable_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_enabled(request, queryset, enabled=False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[Any], *, enabled: bool) -> None:
        changed, refused = 0, []
        with config_change():
            for obj in queryset.filter(enabled=not enabled):
                obj.enabled = enabled
                if enabled:
                    try:
                        obj.full_clean()  # an enabled route may clash with another one
                    except ValidationError as exc:
                        refused.append(f"{obj}: {' '.join(exc.messages)}")
                        continue
                obj.save()
                changed += 1
        verb = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{verb} {changed} {queryset.model._meta.verbose_name_plural}.")
        for message in refused:
            self.message_user(request, f"Not enabled: {message}", level=messages.WARNING)


class TargetInline(admin.TabularInline):
    model = Target
    fields = ("host", "port", "weight", "enabled")
    extra = 0


class RouteInline(admin.TabularInline):
    model = Route
    form = RouteForm
    formset = RouteInlineFormSet
    fields = ("name", "path_prefix", "host", "methods", "api_version", "priority", "enabled")
    extra = 0
    show_change_link = True


@admin.register(Service)
class ServiceAdmin(ConfigAdmin):
    # Fits a 1,400 px screen with the sections' columns and the health badge; protocol and load
    # balancing are filters.
    list_display = ("name", "slug", "enabled", "target_count", "route_count")
    list_editable = ("enabled",)
    list_filter = ("enabled", "protocol", "lb_algorithm")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at", "dynamic_route_in_force")
    panels = (("Dynamic route in force", {"fields": ("dynamic_route_in_force",)}),)
    inlines = (TargetInline, RouteInline)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if request.method == "GET" and settings.GATEWAY_DYNAMIC_SERVICE_ROUTES:
            service = self.get_object(request, object_id)
            warning = dynamic.status(service).warning if service is not None else ""
            if warning:
                self.message_user(request, warning, level=messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="in force")
    def dynamic_route_in_force(self, obj: Service) -> str:
        if not settings.GATEWAY_DYNAMIC_SERVICE_ROUTES:
            return "Not served: GATEWAY_DYNAMIC_SERVICE_ROUTES turns every dynamic route off."
        decision = dynamic.status(obj)
        if decision.demand is None:
            return decision.warning or f"Not served: /api/v1/{obj.slug}/ answers 404."
        text = f"/api/v1/{obj.slug}/{{path}} asks for {decision.demand.describe()}."
        return f"{text} Warning: {decision.warning}" if decision.warning else text

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return (
            super()
            .get_queryset(request)
            .annotate(target_total=Count("targets", distinct=True), route_total=Count("routes", distinct=True))
        )

    @admin.display(description="targets", ordering="target_total")
    def target_count(self, obj: Any) -> int:
        return int(obj.target_total)

    @admin.display(description="routes", ordering="route_total")
    def route_count(self, obj: Any) -> int:
        return int(obj.route_total)


@admin.register(Target)
class TargetAdmin(ConfigAdmin):
    list_display = ("address", "service", "weight", "enabled")
    list_editable = ("weight", "enabled")
    list_filter = ("enabled", "service")
    list_select_related = ("service",)
    search_fields = ("host", "service__name", "service__slug")
    autocomplete_fields = ("service",)
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="address", ordering="host")
    def address(self, obj: Target) -> str:
        return obj.address


@admin.register(Route)
class RouteAdmin(ConfigAdmin):
    form = RouteForm
    # Fits a 1,400 px screen with the sections' columns and the service's health: what a route
    # matches is one column.
    list_display = ("name", "matches", "service", "auth_mode", "enabled")
    list_editable = ("enabled",)
    list_filter = ("enabled", "auth_mode", "version_source", "service")
    list_select_related = ("service",)
    search_fields = ("name", "path_prefix", "host", "service__name", "service__slug")
    autocomplete_fields = ("service",)
    filter_horizontal = ("jwt_issuers",)
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="matches", ordering="path_prefix")
    def matches(self, obj: Route) -> str:
        """``GET,POST api.example.com/orders v2 (priority 5)``: what the route's matching fields say."""
        parts = [obj.methods or "any method", f"{obj.host}{obj.path_prefix}" if obj.host else obj.path_prefix]
        if obj.api_version:
            parts.append(obj.api_version)
        if obj.priority:
            parts.append(f"(priority {obj.priority})")
        return " ".join(parts)


@admin.register(ConfigVersion)
class ConfigVersionAdmin(ReadOnlyAdmin):
    list_display = ("version", "changed_at")


# Consumers, API keys and JWT issuers; versions and the simulator; then the index's order and Celery's
# schedules for superusers.
from registry import admin_order, auth_admin, revision_admin, simulator_admin  # noqa: E402, F401
