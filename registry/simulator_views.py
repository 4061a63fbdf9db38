"""The route simulator's admin page (``/admin/simulator/``, URL name ``gateway-simulator``, staff only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from registry.simulate import DEFAULT_CLIENT, simulate

MAX_BODY = 1_000_000  # characters of a body to send for real

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class SimulatorForm(forms.Form):
    method = forms.ChoiceField(choices=[(m, m) for m in METHODS], initial="GET")
    host = forms.CharField(max_length=253, initial="localhost", help_text="The request's Host.")
    path = forms.CharField(max_length=2000, initial="/", help_text="With the query string, if any.")
    headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="One 'Name: value' per line (X-Api-Key, API-Version, Origin...).",
    )
    credential = forms.CharField(
        required=False,
        max_length=8000,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="An API key or a token, sent as 'Authorization: Bearer ...'. Never stored.",
    )
    client_address = forms.GenericIPAddressField(
        required=False, initial=DEFAULT_CLIENT, help_text="The client's address, as IP lists and rate limits see it."
    )
    body = forms.CharField(
        required=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Sent only with 'Send it for real'.",
    )
    send = forms.BooleanField(
        required=False,
        label="Send it for real",
        help_text="Also send the request straight to the chosen target (no gateway in between) and show its "
        "answer. Recorded in the audit trail.",
    )

    def clean_headers(self) -> list[tuple[str, str]]:
        pairs = []
        for number, line in enumerate(self.cleaned_data["headers"].splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise forms.ValidationError(f"Line {number}: write 'Name: value'.")
            pairs.append((name.strip(), value.strip()))
        return pairs

    def request_headers(self) -> list[tuple[str, str]]:
        headers = list(self.cleaned_data["headers"])
        if self.cleaned_data["credential"]:
            headers.append(("Authorization", f"Bearer {self.cleaned_data['credential'].strip()}"))
        return headers


def simulator_view(request: HttpRequest) -> HttpResponse:
    form = SimulatorForm(request.POST or None, initial=request.GET.dict())
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result = simulate(
            data["method"],
            data["host"],
            data["path"],
            form.request_headers(),
            client_address=data["client_address"] or DEFAULT_CLIENT,
            body=data["body"].encode(),
            send=data["send"],
        )
    context = {**admin.site.each_context(request), "title": "Route simulator", "form": form, "result": result}
    return TemplateResponse(request, "admin/simulator.html", context)


view = admin.site.admin_view(simulator_view)  # staff only; others are sent to the sign-in page
