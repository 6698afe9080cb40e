"""conformance.html in a real browser: Debian's headless Chromium, driven by Selenium.

`make test` installs Chromium first (`make browser`), so this test never skips: a machine
without the driver fails here with the command that installs it. The driver path is given, so
Selenium Manager never runs (it would try to download a browser).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import toydomain
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

pytestmark = pytest.mark.slow

CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1300,1700")
# Kept for the README (docs/report.png is a copy of it).
SCREENSHOT = Path(__file__).resolve().parents[2] / "build" / "report.png"
PLANTED = b'{"value": 1, "add": -5}\n\x00\xff tail'


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    assert CHROMEDRIVER.exists(), (
        "headless Chromium is missing: run `make browser` "
        "(apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def planted_report(toy: Any) -> Path:
    """A toy run with planted failures: lie_code answers victim-1 with the wrong code, crash
    dies on both victims; victim-1's folder holds a file with binary bytes."""
    with (toy.root / "fixtures" / "cases.jsonl").open("a") as handle:
        case = toydomain.make_case("victim-2", [("set", 99), ("add", 5)], ["toy.overflow"])
        handle.write(json.dumps(case) + "\n")
    folder = toy.root / "fixtures" / "cases" / "victim-1"
    folder.mkdir(parents=True)
    (folder / "counter.json").write_bytes(PLANTED)
    code, _ = toy.add("good").add("lie_code").add("crash").run()
    assert code == 1
    return toy.root / "results" / "conformance.html"


def shown(driver: webdriver.Chrome) -> list[str | None]:
    return [card.get_attribute("data-case")
            for card in driver.find_elements(By.CSS_SELECTOR, "article.case") if card.is_displayed()]


def choose(driver: webdriver.Chrome, select_id: str, value: str) -> None:
    Select(driver.find_element(By.ID, select_id)).select_by_value(value)  # clicks the option


def test_the_planted_disagreement_side_by_side_with_its_bytes(toy, browser):
    browser.get(planted_report(toy).as_uri())
    assert browser.find_element(By.ID, "status").text == "FAIL"
    assert shown(browser) == ["victim-1", "victim-2"]
    card = browser.find_element(By.ID, "case-victim-1")
    answers = {td.get_attribute("data-impl"): td.text
               for td in card.find_elements(By.CSS_SELECTOR, "td.answer")}
    assert answers["good"] == "agreed"
    assert answers["lie_code"].startswith("disagreed\nfirst difference from the expectation at "
                                          '/results/1/code: expected "toy.negative", got "toy.overflow"')
    assert '"message": "add: the counter would be -4 (< 0)"' in answers["lie_code"]
    assert answers["crash"].startswith("crashed\ntestee exited with status 3")
    assert '{"op": "add", "value": -5}' in card.find_element(By.CSS_SELECTOR, "pre.ops").text
    view = card.find_element(By.CSS_SELECTOR, ".files details.file")
    pre = view.find_element(By.CSS_SELECTOR, "pre.bytes")
    assert pre.text.splitlines() == [
        '00000000  7b 22 76 61 6c 75 65 22  3a 20 31 2c 20 22 61 64  |{"value": 1, "ad|',
        '00000010  64 22 3a 20 2d 35 7d 0a  00 ff 20 74 61 69 6c     |d": -5}... tail|',
    ]
    view.find_element(By.CSS_SELECTOR, "button[data-view=text]").click()
    assert "\ufffd tail" in pre.text and pre.text.startswith('{"value": 1, "add": -5}')


def test_filters_narrow_the_cases_and_the_matrix(toy, browser):
    browser.get(planted_report(toy).as_uri())
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    count = browser.find_element(By.ID, "shown-count")
    choose(browser, "filter-outcome", "disagreed")
    assert shown(browser) == ["victim-1"] and count.text == "showing 1 of 2 case(s)"
    choose(browser, "filter-outcome", "crashed")
    assert shown(browser) == ["victim-1", "victim-2"]
    choose(browser, "filter-invariant", "toy.overflow")
    assert shown(browser) == ["victim-2"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
    assert [r.get_attribute("data-invariant") for r in rows if r.is_displayed()] == ["toy.overflow"]
    choose(browser, "filter-impl", "lie_code")
    assert shown(browser) == [] and count.text == "showing 0 of 2 case(s)"
    browser.find_element(By.ID, "filter-reset").click()
    assert shown(browser) == ["victim-1", "victim-2"]
    # A red matrix cell filters on its implementation and invariant.
    browser.find_element(By.CSS_SELECTOR,
                         '#matrix td.bad[data-impl="lie_code"][data-invariant="toy.negative"]').click()
    assert shown(browser) == ["victim-1"]
    heads = browser.find_elements(By.CSS_SELECTOR, "#matrix thead th[data-impl]")
    assert [h.text for h in heads if h.is_displayed()] == ["lie_code"]
    focused = browser.find_elements(By.CSS_SELECTOR, "#case-victim-1 td.focus")
    assert [td.get_attribute("data-impl") for td in focused] == ["lie_code"]
