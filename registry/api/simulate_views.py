"""``POST /admin/api/simulate``: the route simulator (``registry.simulate``) over the admin API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.api.fields import StrictSerializer, strict
from registry.api.schema import NO_NUL
from registry.simulate import DEFAULT_CLIENT, simulate
from registry.simulator_views import MAX_BODY, METHODS

Text = strict(serializers.RegexField)
Dict = strict(serializers.DictField)
Choice = strict(serializers.ChoiceField)


class SimulateRequestSerializer(StrictSerializer):
    method = Choice(choices=METHODS, default="GET")
    host = Text(NO_NUL, min_length=1, max_length=253, trim_whitespace=False)
    path = Text(r"^/[^\u0000]*$", max_length=2000, help_text="With the query string, if any.")
    headers = Dict(child=Text(NO_NUL, max_length=8000, allow_blank=True), required=False, default=dict)
    credential = Text(
        NO_NUL, max_length=8000, required=False, allow_blank=True, help_text="Sent as 'Authorization: Bearer ...'."
    )
    client_address = Text(
        r"^[0-9A-Za-z:.%_-]*$",
        max_length=100,
        required=False,
        allow_blank=True,
        default=DEFAULT_CLIENT,
        help_text="The client's address, as IP lists and rate limits see it (empty: 127.0.0.1). Not checked: "
        "an address that does not parse is refused by any allow list, as the gateway would.",
    )
    body = Text(
        NO_NUL,
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_BODY,
        trim_whitespace=False,
        help_text="Sent only with send: true.",
    )
    send = strict(serializers.BooleanField)(
        required=False,
        default=False,
        help_text="Also send the request straight to the chosen target and return its answer in 'real' (audited).",
    )


class CandidateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    service = serializers.CharField()
    match = serializers.CharField()
    verdict = serializers.CharField()


class StepSerializer(serializers.Serializer[Any]):
    policy = serializers.CharField()
    decision = serializers.CharField()
    stops = serializers.BooleanField()


class RealSerializer(serializers.Serializer[Any]):
    sent = serializers.BooleanField()
    message = serializers.CharField(help_text="Why it was not sent, or how it failed; empty when answered.")
    status = serializers.IntegerField(allow_null=True)
    headers = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="[name, value] pairs, in order.",
    )
    body = serializers.CharField(help_text="The first 4 KiB of the body, as text.")
    truncated = serializers.BooleanField()
    seconds = serializers.FloatField()


class SimulationSerializer(serializers.Serializer[Any]):
    method = serializers.CharField()
    host = serializers.CharField()
    path = serializers.CharField()
    outcome = serializers.CharField()
    status = serializers.IntegerField(allow_null=True)
    route = serializers.CharField(allow_null=True)
    service = serializers.CharField(allow_null=True)
    upstream_url = serializers.CharField(allow_null=True)
    target = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    candidates = CandidateSerializer(many=True)
    steps = StepSerializer(many=True)
    client_address = serializers.CharField()
    real = RealSerializer(allow_null=True, help_text="The backend's answer when sent for real, else null.")


class SimulateView(APIView):
    """What the gateway would do with a request (route, upstream URL, each policy's decision), without
    contacting any backend or consuming any quota; with ``send: true``, also the chosen target's real
    answer (sent directly, audited)."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(request=SimulateRequestSerializer, responses=SimulationSerializer)
    def post(self, request: Request) -> Response:
        params = SimulateRequestSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        headers = [(str(k), str(v)) for k, v in data["headers"].items()]
        if data.get("credential"):
            headers.append(("Authorization", f"Bearer {data['credential'].strip()}"))
        result = simulate(
            data["method"],
            data["host"],
            data["path"],
            headers,
            client_address=data["client_address"],
            body=data["body"].encode(),
            send=data["send"],
        )
        return Response(SimulationSerializer(asdict(result)).data)
