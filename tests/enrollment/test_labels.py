"""Every case vocabulary has a written human label; unknown values still read as words."""

import pytest

from enrollment import labels
from troubleshooting.checks import registry


@pytest.mark.parametrize("vocabulary", sorted(labels.COVERED))
def test_every_value_of_a_shared_vocabulary_has_a_label(vocabulary):
    table = labels.VOCABULARIES[vocabulary]
    assert [value for value in labels.COVERED[vocabulary] if value not in table] == []
    assert all(label and "_" not in label for label in table.values())


def test_every_registered_check_and_outcome_has_words():
    specs = registry.all()
    assert specs
    for spec in specs:
        check_id = spec.id
        assert check_id in labels.CHECK, check_id
        for outcome in spec.outcomes:
            assert outcome in labels.FINDING[check_id], (check_id, outcome)


def test_an_unknown_value_reads_as_words_never_as_the_slug():
    assert labels.say("root_cause", "brand_new_cause") == "Brand new cause"
    assert labels.finding("no_such_check", "timeout") == "The service did not answer in time"
    assert labels.say("outcome", "") == ""
