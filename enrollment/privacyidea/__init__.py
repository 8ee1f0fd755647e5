"""The privacyIDEA adapter behind the MFA port (docs/privacyidea.md):
MFA_SERVICE=enrollment.privacyidea.PrivacyIDEAService."""

from enrollment.privacyidea.service import PrivacyIDEAService

__all__ = ["PrivacyIDEAService"]
