"""The privacy rule for published people counts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loracity.settings import Settings
from opendata.datasets import GROUPS
from opendata.privacy import (
    PEOPLE_QUANTITIES,
    PrivacyRule,
    applies_to_read,
    bucket_aggregate,
    is_people_quantity,
)


def test_small_counts_are_suppressed_zero_and_k_are_not() -> None:
    rule = PrivacyRule(k=3)
    assert [rule.publish(v) for v in (0, 1, 2, 2.9, 3, 40)] == [0, None, None, None, 3, 40]


def test_k_one_suppresses_nothing() -> None:
    assert PrivacyRule(k=1).publish(1) == 1


def test_buckets_are_never_finer_than_fifteen_minutes() -> None:
    rule = PrivacyRule()
    assert rule.bucket_for(timedelta(minutes=1)) == timedelta(minutes=15)
    assert rule.bucket_for(timedelta(hours=1)) == timedelta(hours=1)
    with pytest.raises(ValueError, match="at least"):
        PrivacyRule(bucket=timedelta(minutes=5))


def test_people_quantities_and_how_they_aggregate() -> None:
    assert is_people_quantity("people_in")
    assert is_people_quantity("wifi_devices")
    assert not is_people_quantity("co2")
    assert bucket_aggregate("people_in") == "sum"
    assert bucket_aggregate("occupancy") == "max"


def test_keyed_reads_see_exact_values() -> None:
    assert applies_to_read(keyed=False, public_api=True)
    assert not applies_to_read(keyed=True, public_api=True)
    assert not applies_to_read(keyed=False, public_api=False)


def test_k_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LORACITY_PRIVACY_K", "5")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.privacy_k == 5
    monkeypatch.setenv("LORACITY_PRIVACY_K", "0")
    with pytest.raises(ValueError, match="privacy_k"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_rule_is_built_from_settings() -> None:
    settings = Settings(_env_file=None, privacy_k=4, privacy_bucket_minutes=60)  # type: ignore[call-arg]
    assert settings.privacy_rule() == PrivacyRule(k=4, bucket=timedelta(hours=1))


def test_no_raw_measurement_group_publishes_people_counts() -> None:
    for group in GROUPS:
        assert not set(group.quantities) & PEOPLE_QUANTITIES, group.id
