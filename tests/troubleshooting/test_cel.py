import pytest

from troubleshooting import cel


def test_evaluate_true_and_false():
    facts = {"user_status": "active", "open_fraud_signals": 0}

    assert cel.evaluate('user_status == "active" && open_fraud_signals == 0', facts) is True
    assert cel.evaluate("open_fraud_signals > 0", facts) is False


def test_evaluate_lists_and_null():
    facts = {"policy_allowed_methods": ["sms", "voice"], "enrollment_error": None}

    assert cel.evaluate('"push" in policy_allowed_methods', facts) is False
    assert cel.evaluate("enrollment_error == null", facts) is True


def test_evaluate_missing_fact_is_an_evaluation_error():
    with pytest.raises(cel.ConditionEvaluationError) as info:
        cel.evaluate('user_status == "active"', {})

    assert str(info.value).startswith("'user_status == \"active\"' could not be evaluated:")


def test_evaluate_type_mismatch_is_an_evaluation_error():
    with pytest.raises(cel.ConditionEvaluationError):
        cel.evaluate("device_count + 1 == 2", {"device_count": "one"})


def test_evaluate_non_boolean_result_is_an_evaluation_error():
    with pytest.raises(cel.ConditionEvaluationError) as info:
        cel.evaluate("device_count + 1", {"device_count": 1})

    assert str(info.value) == "'device_count + 1' gave 2, not true or false"


def test_evaluate_division_by_zero_is_an_evaluation_error():
    with pytest.raises(cel.ConditionEvaluationError):
        cel.evaluate("1 / device_count == 1", {"device_count": 0})


def test_compile_condition_syntax_error_is_clear():
    with pytest.raises(cel.ConditionSyntaxError) as info:
        cel.compile_condition("user_status ==")

    assert str(info.value).startswith("'user_status ==' does not compile:")


def test_referenced_facts_excludes_comprehension_variables():
    names = cel.referenced_facts(
        "policy_allowed_methods.exists(m, m == policy_default_method) && device_count > 0"
    )

    assert names == frozenset({"policy_allowed_methods", "policy_default_method", "device_count"})
