"""Consent rules (SPEC §4.4), pure: which category a message may be sent under."""

from __future__ import annotations

import pytest

from sidecar.policy.consent import category_problem, decide_category
from sidecar.policy.types import ALLOW, Category, Reason

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("category", [c for c in Category if c is not Category.SERVICE])
def test_a_template_goes_under_its_meta_category(category: Category) -> None:
    assert category_problem(category, free_form=False) is None
    assert decide_category(category, free_form=False) == ALLOW


def test_service_is_for_free_form_replies_only() -> None:
    assert category_problem(Category.SERVICE, free_form=True) is None
    problem = category_problem(Category.SERVICE, free_form=False)
    assert problem is not None and "MARKETING, UTILITY or AUTHENTICATION" in problem
    refused = decide_category(Category.SERVICE, free_form=False)
    assert (refused.allowed, refused.reason) == (False, Reason.INVALID_REQUEST)
    assert refused.detail == f"category: {problem}"
