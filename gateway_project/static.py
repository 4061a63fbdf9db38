"""The static files storage: WhiteNoise's compressed, hash-named files once collectstatic has run."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from the manifest `collectstatic` writes; without one (make run, the tests, which
    never collect), the plain names, which WhiteNoise serves from the apps (``WHITENOISE_USE_FINDERS``).
    With a manifest, a name missing from it is still an error, as in Django's own storage."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return str(super().stored_name(name))
