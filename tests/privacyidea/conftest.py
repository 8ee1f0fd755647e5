"""Fixtures for tests against a real privacyIDEA server (marked `privacyidea`).

`privacyidea_server` (session) starts privacyIDEA 3.14 from its own virtualenv on a free
loopback port and stops it afterwards; without the virtualenv the tests skip with a reason
(a failure under REQUIRE_ALL_TESTS=1). `privacyidea` points the helpdesk at it for one test
(MFA_SERVICE and the PRIVACYIDEA_* settings, the helpdesk's least-privilege account).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from enrollment.mfa import get_mfa_service
from tests.privacyidea import server as pi

PRIVACYIDEA_SERVICE = "enrollment.privacyidea.PrivacyIDEAService"


@pytest.fixture(scope="session")
def privacyidea_server() -> Iterator[pi.PrivacyIDEAServer]:
    if not pi.installed():
        pytest.skip(
            f"privacyIDEA is not installed in {pi.venv_bin().parent} (python3.12 -m venv "
            ".venv-privacyidea && .venv-privacyidea/bin/pip install privacyIDEA==3.14, or "
            "set PRIVACYIDEA_VENV)"
        )
    server = pi.start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def privacyidea(settings, privacyidea_server) -> Iterator[pi.PrivacyIDEAServer]:
    """The helpdesk talks to the test server through its service account."""
    if not privacyidea_server.running:
        # A test stopped it on purpose (an outage); the next one gets it back.
        privacyidea_server.start()
    settings.MFA_SERVICE = PRIVACYIDEA_SERVICE
    settings.PRIVACYIDEA_URL = privacyidea_server.url
    settings.PRIVACYIDEA_USERNAME = pi.SERVICE_ACCOUNT
    settings.PRIVACYIDEA_PASSWORD = pi.SERVICE_PASSWORD
    settings.PRIVACYIDEA_REALMS = [pi.REALM]
    settings.PRIVACYIDEA_VERIFY_TLS = True
    settings.PRIVACYIDEA_TIMEOUT_SECONDS = 10
    settings.PRIVACYIDEA_PORTAL_URL = "https://mfa.example.com/"
    yield privacyidea_server
    if not privacyidea_server.running:
        privacyidea_server.start()


@pytest.fixture
def service(privacyidea):
    return get_mfa_service()
