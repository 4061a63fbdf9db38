"""The admin API's own tokens honour revocation: a revoked access token is refused by the admin API
(``RevocationCheckingJWTAuthentication``, in ``REST_FRAMEWORK``), a revoked refresh token gets no new
access token and each new one joins its sign-in (``RevocationCheckingRefreshSerializer``, in
``SIMPLE_JWT["TOKEN_REFRESH_SERIALIZER"]``)."""

from __future__ import annotations

from typing import Any

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from revocation import services


class RevocationCheckingJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Any:
        token = super().get_validated_token(raw_token)
        if services.is_revoked(dict(token.payload)):
            raise InvalidToken({"detail": "The token has been revoked.", "code": "token_revoked"})
        return token


class RevocationCheckingRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refresh = self.token_class(attrs["refresh"])  # verified (signature, expiry, type) here
        if services.is_revoked(dict(refresh.payload)):
            raise InvalidToken({"detail": "The token has been revoked.", "code": "token_revoked"})
        data = super().validate(attrs)
        services.record_refreshed(attrs["refresh"], data["access"])
        return data
