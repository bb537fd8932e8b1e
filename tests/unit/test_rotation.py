"""App Secret rotation with an overlap (policy/rotation.py): pure, time as a parameter."""

from __future__ import annotations

import pytest

from sidecar.policy.rotation import SecretRotation

pytestmark = pytest.mark.unit


def test_a_replaced_secret_stays_active_for_the_overlap_then_lapses() -> None:
    rotation = SecretRotation.start([b"old"]).rotate([b"new"], now=100.0, overlap=60.0)
    assert rotation.active(100.0) == (b"new", b"old")
    assert rotation.active(159.9) == (b"new", b"old")
    assert rotation.active(160.0) == (b"new",)
    assert rotation.next_lapse(100.0) == 160.0
    assert rotation.next_lapse(160.0) is None


def test_no_overlap_means_the_old_secret_is_refused_at_once() -> None:
    rotation = SecretRotation.start([b"old"]).rotate([b"new"], now=5.0, overlap=0.0)
    assert rotation.active(5.0) == (b"new",)


def test_two_rotations_in_a_row_keep_both_replaced_secrets_for_their_own_overlap() -> None:
    rotation = SecretRotation.start([b"a"]).rotate([b"b"], now=0.0, overlap=10.0)
    rotation = rotation.rotate([b"c"], now=5.0, overlap=10.0)
    assert rotation.active(6.0) == (b"c", b"a", b"b")
    assert rotation.active(12.0) == (b"c", b"b")
    assert rotation.active(15.0) == (b"c",)


def test_rotating_back_to_a_retiring_secret_makes_it_current_again() -> None:
    rotation = SecretRotation.start([b"a"]).rotate([b"b"], now=0.0, overlap=10.0)
    rotation = rotation.rotate([b"a"], now=1.0, overlap=10.0)
    assert rotation.current == (b"a",)
    assert rotation.active(1.0) == (b"a", b"b")
    assert rotation.active(11.0) == (b"a",)


def test_a_comma_list_keeps_its_order_and_empty_secrets_are_dropped() -> None:
    rotation = SecretRotation.start([b"", b"x"]).rotate([b"y", b"", b"x"], now=0, overlap=5)
    assert rotation.active(0.0) == (b"y", b"x")
