"""Cases worked end to end against a real privacyIDEA, each through the guided-session engine
the wizard uses (troubleshooting.simulation.work_case) with the shipped playbooks. The test is
the end user: it holds the authenticator app (pyotp, from the seed it enrolled) and reads its
codes out; the helpdesk never sees the seed."""

from __future__ import annotations

import time

import pytest

from enrollment.enums import AuthenticatorStatus, UserStatus
from enrollment.mfa import SignInAttempt, get_mfa_service
from enrollment.models import Authenticator, EndUser
from enrollment.services.directory_sync import directory_sync
from helpdesk.enums import Channel, EventKind
from helpdesk.services.tickets import ticket_open
from troubleshooting import engine
from troubleshooting.sessions import session_advance, session_start, session_steps
from troubleshooting.simulation import CallerDriver, ensure_playbooks, simulation_staff, work_case

pytestmark = [pytest.mark.privacyidea, pytest.mark.django_db]


class PhoneCaller:
    """An end user on the phone with an authenticator app whose clock may run late."""

    def __init__(
        self,
        end_user: EndUser,
        totp,
        *,
        clock_late_seconds: int = 0,
        can_do=None,
        lost_device: str = "",
        **answers,
    ):
        self.end_user = end_user
        self.totp = totp
        self.late = clock_late_seconds
        self.answers = answers
        # What the caller manages when asked (caller action -> what they do); anything
        # else they cannot do.
        self.can_do = can_do or {}
        self.lost_device = lost_device
        self.performed: list[str] = []
        self.codes_read: list[str] = []

    def phone_time(self) -> float:
        return time.time() - self.late

    def code(self, steps: int = 0) -> str:
        return self.totp.at(self.phone_time() + 30 * steps)

    def answer(self, fact: str) -> bool | str:
        return self.answers.get(fact, False)

    def perform(self, action: str) -> tuple[bool, str]:
        self.performed.append(action)
        if action in self.can_do:
            return self.can_do[action](self)
        # E.g. this phone's clock is set by hand and cannot be corrected (a locked-down
        # device), or there is no new phone to scan a code with yet.
        return False, "I cannot do that here."

    def tell(self, item: str) -> str:
        # Two consecutive codes of the app: the one before and the one shown now.
        if item == "first_code":
            return self.code(-1)
        if item == "second_code":
            second = self.code()
            # The caller then waits for the code after the next one: privacyIDEA counts the
            # step after the second code as used by the resynchronisation.
            self.late -= 60
            return second
        if item == "lost_device":
            return self.lost_device
        return ""

    def sign_in(self, *, application: str | None, factor: str) -> SignInAttempt:
        code = self.code()
        self.codes_read.append(code)
        return get_mfa_service().sign_in(
            end_user_id=self.end_user.pk, application=application, factor="totp", passcode=code
        )


def _directory(privacyidea, username: str) -> EndUser:
    directory_sync()
    return EndUser.objects.get(service_id=f"{username}@corp")


def test_a_user_locked_out_by_wrong_codes_is_unlocked_and_signs_in(privacyidea):
    username = privacyidea.take_user()
    serial, totp = privacyidea.enrol_totp(username)
    privacyidea.call("POST", "/token/set", serial=serial, max_failcount="3")
    for _ in range(3):
        privacyidea.check(username, "000000")
    end_user = _directory(privacyidea, username)
    caller = PhoneCaller(end_user, totp)

    report = work_case(
        scenario_id="pi-locked-out",
        complaint="locked_out",
        end_user=end_user,
        application=None,
        caller=caller,
    )

    end_user.refresh_from_db()
    assert report["outcome"] == "code_accepted"
    assert report["verified_sign_in"] is True
    # A callback to the mobile number privacyIDEA's directory holds.
    assert report["identity_verified_by"] == "callback"
    assert [s["node"] for s in report["steps"]] == [
        "status",
        "fraud",
        "policy",
        "locked",
        "identity_unlock",
        "unlock",
        "verify_unlock",
        "resolved",
    ]
    assert report["steps"][1]["result"] == "unknown"  # privacyIDEA has no fraud reports
    assert privacyidea.token(serial)["failcount"] == 0
    assert end_user.status == UserStatus.ACTIVE
    assert report["audit_chain_ok"] is True


def test_a_clock_running_late_is_rejected_resynced_and_accepted(privacyidea):
    username = privacyidea.take_user()
    _, totp = privacyidea.enrol_totp(username)
    end_user = _directory(privacyidea, username)
    caller = PhoneCaller(end_user, totp, clock_late_seconds=30 * 10)

    report = work_case(
        scenario_id="pi-clock-drift",
        complaint="code_rejected",
        end_user=end_user,
        application=None,
        caller=caller,
    )

    steps = [(s["node"], s["result"]) for s in report["steps"]]
    assert report["outcome"] == "code_accepted"
    assert report["verified_sign_in"] is True
    assert ("test_sign_in", "denied") in steps
    assert ("rejection", "app_code") in steps
    assert ("resync_app", "done") in steps
    assert ("verify_resync_app", "success") in steps
    assert report["root_causes"] == ["clock_skew"]
    log = get_mfa_service().auth_log(end_user_id=end_user.pk)
    assert [e.result for e in log[:2]] == ["success", "denied"]


def test_privacyidea_stopped_mid_session_leaves_nothing_half_done(privacyidea):
    username = privacyidea.take_user()
    serial, totp = privacyidea.enrol_totp(username)
    privacyidea.call("POST", "/token/set", serial=serial, max_failcount="3")
    for _ in range(3):
        privacyidea.check(username, "000000")
    end_user = _directory(privacyidea, username)
    staff = simulation_staff()
    ensure_playbooks("locked_out")
    ticket = ticket_open(
        actor=staff.technician,
        end_user=end_user,
        subject="Locked out",
        category="locked_out",
        channel=Channel.PHONE,
    )
    session = session_start(actor=staff.technician, ticket=ticket, application="")
    driver = CallerDriver(
        session, staff.technician, caller=PhoneCaller(end_user, totp), supervisor=staff.supervisor
    )
    # Work the case up to the unlock, with the caller's identity verified ...
    while session.is_active and engine.SessionState.from_dict(session.state).node != "unlock":
        session_advance(actor=staff.technician, session=session, driver=driver)
    # ... then privacyIDEA goes down.
    privacyidea.stop()
    while session.is_active:
        session_advance(actor=staff.technician, session=session, driver=driver)

    end_user.refresh_from_db()
    steps = [(s.node, s.branch) for s in session_steps(session)]
    assert ("identity_unlock", "verified") in steps
    assert ("unlock", "blocked") in steps
    assert session.outcome == "escalated_tier2"
    # Nothing claims the unlock privacyIDEA did not make.
    assert end_user.status == UserStatus.LOCKED_OUT
    refusals = [
        e.payload
        for e in ticket.events.filter(kind=EventKind.RECOVERY_ACTION)
        if e.payload.get("outcome") == "refused"
    ]
    assert len(refusals) == 1
    assert "Unlock at privacyIDEA: privacyIDEA could not be reached" in str(refusals[0])
    privacyidea.start()
    assert privacyidea.token(serial)["failcount"] == 3


def test_the_directory_sync_imports_users_and_tokens_idempotently(privacyidea):
    username = privacyidea.take_user()
    serial, _ = privacyidea.enrol_totp(username, description="Work phone")

    first = directory_sync()
    second = directory_sync()

    end_user = EndUser.objects.get(service_id=f"{username}@corp")
    authenticator = Authenticator.objects.get(serial=serial)
    assert f"{username}@corp: added" in first.changes
    assert second.changes == []
    assert (authenticator.end_user_id, authenticator.method, authenticator.status) == (
        end_user.pk,
        "totp",
        AuthenticatorStatus.ACTIVE,
    )
    assert authenticator.device.name == "Work phone"
    assert end_user.status == UserStatus.ACTIVE


def test_a_lost_device_is_disabled_and_a_temporary_code_works_once(privacyidea):
    username = privacyidea.take_user()
    serial, totp = privacyidea.enrol_totp(username, description="Work phone")
    end_user = _directory(privacyidea, username)
    caller = PhoneCaller(end_user, totp, lost_device="Work phone", has_device=False)

    report = work_case(
        scenario_id="pi-lost-device",
        complaint="lost_device",
        end_user=end_user,
        application=None,
        caller=caller,
    )

    steps = [(s["node"], s["result"]) for s in report["steps"]]
    assert ("mark_lost", "done") in steps
    assert ("bypass", "done") in steps
    assert ("verify_bypass", "success") in steps
    assert report["outcome"] == "bypass_issued"
    assert report["bypass_issued"] is True
    # The temporary code, typed once at the verify step, was privacyIDEA's own ...
    log = get_mfa_service().auth_log(end_user_id=end_user.pk)
    assert (log[0].result, log[0].reason) == ("success", "bypass_user")
    # ... and privacyIDEA disabled the lost phone's token: its code is refused.
    assert privacyidea.token(serial)["active"] is False
    assert privacyidea.check(username, totp.now())["detail"]["message"] == "Token is disabled"
    registration = privacyidea.call(
        "GET", "/token/", user=username, realm="corp", type="registration"
    )
    assert registration["result"]["value"]["tokens"] == []


def test_a_disabled_token_is_replaced_and_the_new_one_verified(privacyidea):
    username = privacyidea.take_user()
    serial, totp = privacyidea.enrol_totp(username)
    privacyidea.call("POST", f"/token/disable/{serial}")
    end_user = _directory(privacyidea, username)
    assert Authenticator.objects.get(serial=serial).status == AuthenticatorStatus.DISABLED

    def scan_the_new_code(caller):
        # The end user sets up the new authenticator at privacyIDEA's own portal; the
        # helpdesk never sees its seed.
        _, caller.totp = privacyidea.enrol_totp(username, serial=f"TOTP-{username}-new")
        return True, "The app shows the new account."

    caller = PhoneCaller(end_user, totp, can_do={"scan_qr_code": scan_the_new_code})

    report = work_case(
        scenario_id="pi-disabled-token",
        complaint="locked_out",
        end_user=end_user,
        application=None,
        caller=caller,
    )

    steps = [(s["node"], s["result"]) for s in report["steps"]]
    assert ("authenticators", "disabled") in steps
    assert ("reenroll_disabled", "done") in steps
    assert ("verify_reenrolled", "success") in steps
    assert report["outcome"] == "re_enrolled"
    # The sync adopts the token the end user enrolled as the re-enrollment's authenticator.
    directory_sync()
    new = Authenticator.objects.get(serial=f"TOTP-{username}-new")
    assert (new.end_user_id, new.status) == (end_user.pk, AuthenticatorStatus.ACTIVE)
    assert new.name == f"TOTP-{username}-new"
