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
from registry.simulate import simulate
from registry.simulator_views import METHODS

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


class CandidateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    service = serializers.CharField()
    match = serializers.CharField()
    verdict = serializers.CharField()


class StepSerializer(serializers.Serializer[Any]):
    policy = serializers.CharField()
    decision = serializers.CharField()
    stops = serializers.BooleanField()


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


class SimulateView(APIView):
    """What the gateway would do with a request (route, upstream URL, each policy's decision), without
    contacting any backend or consuming any quota."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(request=SimulateRequestSerializer, responses=SimulationSerializer)
    def post(self, request: Request) -> Response:
        params = SimulateRequestSerializer(data=request.data, context={"request": request})
        params.is_valid(raise_exception=True)
        data = params.validated_data
        headers = [(str(k), str(v)) for k, v in data["headers"].items()]
        if data.get("credential"):
            headers.append(("Authorization", f"Bearer {data['credential'].strip()}"))
        result = simulate(data["method"], data["host"], data["path"], headers)
        return Response(SimulationSerializer(asdict(result)).data)
