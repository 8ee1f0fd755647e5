"""The root-cause catalog: complete, linted, and read as evidence (troubleshooting.catalog)."""

import pytest
from django.core.management import call_command

from troubleshooting import catalog
from troubleshooting.vocab import ROOT_CAUSES


def test_the_shipped_catalog_has_one_entry_per_root_cause_and_lints_clean():
    shipped = catalog.load_catalog()

    assert sorted(cause.id for cause in shipped.causes) == sorted(ROOT_CAUSES)
    assert catalog.lint_catalog(shipped) == []


def test_every_entry_has_a_title_a_fix_and_a_verify():
    for cause in catalog.load_catalog().causes:
        assert (bool(cause.title), cause.fix.kind is not None, cause.verify is not None) == (
            True,
            True,
            True,
        ), cause.id


def _with(**changes):
    shipped = catalog.load_catalog()
    data = shipped.model_dump(mode="json")
    entry = next(c for c in data["causes"] if c["id"] == "device_offline")
    entry.update(changes)
    return catalog.parse_catalog(data)


def test_lint_names_a_condition_reading_a_fact_nothing_produces():
    problems = catalog.lint_catalog(_with(suggests="phone_feels_warm == true"))

    assert problems == [
        "device_offline.suggests: reads phone_feels_warm, which no check, question, verify "
        "or action produces"
    ]


def test_lint_names_an_unknown_caller_action_question_and_article():
    broken = _with(fix={"caller_action": "shake_phone"}, question="mood", kb=["no-such-page"])

    assert catalog.lint_catalog(broken) == [
        "device_offline.question: 'mood' is not a question fact",
        "device_offline.fix: unknown caller action 'shake_phone'",
        "device_offline.kb: no article 'no-such-page'",
    ]


def test_lint_names_a_missing_root_cause():
    data = catalog.load_catalog().model_dump(mode="json")
    data["causes"] = [c for c in data["causes"] if c["id"] != "clock_skew"]

    assert catalog.lint_catalog(catalog.parse_catalog(data)) == [
        "clock_skew: no catalog entry for this root cause"
    ]


def test_a_fix_must_be_exactly_one_thing():
    data = catalog.load_catalog().model_dump(mode="json")
    data["causes"][0]["fix"] = {"caller_action": "update_app", "action": "re_enroll"}

    with pytest.raises(catalog.CatalogError) as error:
        catalog.parse_catalog(data, file="cat.yaml")

    assert "causes.0.fix" in str(error.value)
    assert "exactly one of caller_action, action, escalate, explain" in str(error.value)


def test_assess_points_at_the_cause_the_caller_confirmed_and_rules_out_the_healthy_parts():
    facts = {
        "user_status": "active",
        "open_fraud_signals": 0,
        "notifications_enabled": False,
        "device_online": True,
    }

    assessment = catalog.assess(facts)

    assert [f.cause for f in assessment.suspected] == ["push_notifications_disabled"]
    assert assessment.suspected[0].evidence == {"notifications_enabled": False}
    ruled_out = {f.cause for f in assessment.ruled_out}
    assert {"device_offline", "network_unreachable", "fraud_reported"} <= ruled_out
    assert "push_notifications_disabled" not in ruled_out


def test_assess_treats_a_fact_not_gathered_as_not_known_rather_than_a_guess():
    assessment = catalog.assess({"complaint": "missing_prompt"})

    assert (assessment.suspected, assessment.ruled_out) == ((), ())


def test_end_findings_keep_what_the_session_proved():
    causes, _ = catalog.end_findings(["clock_skew"], {"notifications_enabled": False})

    assert causes == ["clock_skew"]


def test_end_findings_name_the_suspected_causes_when_nothing_was_proved():
    causes, assessment = catalog.end_findings([], {"user_status": "disabled"})

    assert causes == ["user_disabled"]
    assert [f.cause for f in assessment.suspected] == ["user_disabled"]


def test_end_findings_say_no_fault_found_with_what_was_ruled_out():
    facts = {
        "user_status": "active",
        "open_fraud_signals": 0,
        "device_online": True,
        "last_auth_reason": "user_approved",
    }

    causes, assessment = catalog.end_findings([], facts)

    assert causes == [catalog.NO_FAULT_FOUND]
    assert {"device_offline", "user_locked_out", "fraud_reported"} <= {
        f.cause for f in assessment.ruled_out
    }


def test_a_cause_already_fixed_is_neither_suspected_nor_ruled_out():
    assessment = catalog.assess(
        {"notifications_enabled": False}, fixed=["push_notifications_disabled"]
    )

    assert "push_notifications_disabled" not in {
        f.cause for f in (*assessment.suspected, *assessment.ruled_out)
    }


def test_lint_playbooks_without_paths_lints_the_catalog_too(capsys):
    call_command("lint_playbooks")

    assert capsys.readouterr().out == (
        "6 playbook file(s) lint clean. The root-cause catalog lints clean.\n"
    )
