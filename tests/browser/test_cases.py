"""The browser suite's own checks, without a browser: the case table is consistent, and a
result that disagrees with its case is a mismatch that names the browser's own reason."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import BROWSERS, FIREFOX_REASONS, Expect, cases  # noqa: E402
from run import check_step, describe  # noqa: E402

TABLE = cases(1001, 1002, 1003, 1004, "file:///pages/index.html")

FIREFOX_MISSING = "CORS header ‘Access-Control-Allow-Origin’ missing"


def test_every_chromium_cors_error_of_the_table_has_its_firefox_message():
    errors = {e.cors_error for c in TABLE for s in c.steps for e in [s.expect, *s.by_browser.values()] if e.cors_error}
    assert errors, "the table names no CORS error"
    assert errors <= set(FIREFOX_REASONS), errors - set(FIREFOX_REASONS)


def test_every_case_where_the_browsers_differ_says_why():
    for c in TABLE:
        per_browser = any(s.by_browser for s in c.steps) or isinstance(c.preflights, dict)
        assert bool(c.differs) == per_browser, c.name
        if isinstance(c.preflights, dict):
            assert set(c.preflights) == set(BROWSERS), c.name


def test_case_names_are_unique_and_every_step_kind_is_one_the_page_runs():
    names = [c.name for c in TABLE]
    assert len(names) == len(set(names))
    page = (HERE / "pages" / "cors-client.js").read_text()
    for c in TABLE:
        for s in c.steps:
            assert f"{s.kind}: " in page, (c.name, s.kind)


def test_a_chromium_step_blocked_for_another_reason_is_a_mismatch_naming_both_errors():
    result = {"readable": False, "reason": "WildcardOriginNotAllowed", "messages": []}
    problems = check_step(result, Expect(False, cors_error="MissingAllowOriginHeader"), "chromium")
    assert len(problems) == 1
    assert "WildcardOriginNotAllowed" in problems[0] and "MissingAllowOriginHeader" in problems[0]
    assert check_step({"readable": False, "reason": "MissingAllowOriginHeader"},
                      Expect(False, cors_error="MissingAllowOriginHeader"), "chromium") == []


def test_a_firefox_step_is_checked_against_its_console_message():
    expect = Expect(False, cors_error="MissingAllowOriginHeader")
    assert check_step({"readable": False, "reason": FIREFOX_MISSING}, expect, "firefox") == []
    problems = check_step({"readable": False, "reason": FIREFOX_REASONS["WildcardOriginNotAllowed"],
                           "messages": []}, expect, "firefox")
    assert len(problems) == 1 and "Credential is not supported" in problems[0] and FIREFOX_MISSING in problems[0]


def test_a_step_expected_readable_but_blocked_reports_the_browsers_reason():
    result = {"readable": False, "reason": FIREFOX_MISSING, "error": "TypeError: NetworkError"}
    problems = check_step(result, Expect(True, 200), "firefox")
    assert problems and "want True" in problems[0]
    assert describe(result) == FIREFOX_MISSING
    assert describe({"readable": False, "reason": "MissingAllowOriginHeader (null)"}) == "MissingAllowOriginHeader (null)"
