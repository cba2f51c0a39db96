"""The playground at `/`, used as a person would in headless Chromium, against a real local stack.

The stack serves the small real models of tests/stack_models.py: digits is a ridge classifier
fitted on sklearn's digits (it reads a clearly drawn 7 as 7), sentiment weighs a few polar words,
the recommender and tabular models have fixed random weights. So every answer the page shows is
checked twice: against what a person expects where the model can know it (a 7, a positive
review), and against what the same request gets from the API over plain HTTP.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import requests

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or, in CI, fails) with how to install it
    expect = None

from lepton.cli import main
from onnx_models import manifest_for, mlp_model, run
from stack_models import write_artifact

# A 7 with the crossbar most of sklearn's sevens have, in canvas pixels (the canvas is 280 wide).
SEVEN = [[(80, 50), (200, 50), (120, 240)], [(110, 140), (190, 140)]]
FORM_READY = {"digits": "#digit-canvas", "sentiment": "#review", "recommender": "#user", "tabular": "#feature-0",
              "generator": "#digit"}


def open_model(page, name: str, ready: str | None = None) -> None:
    page.goto(f"{page.base_url}/#{name}")
    expect(page.locator("#model")).to_have_value(name)
    page.wait_for_selector(ready or FORM_READY[name])


def predict(page, name: str) -> dict | str:
    """Press Predict; wait for the answer; return the body the page sent."""
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith(f"/models/{name}/predict")) as sent:
        page.click("#submit")
    expect(page.locator("#answer-meta")).to_contain_text(re.compile(r"\d+ ms"))
    request = sent.value
    return request.post_data_json if _is_json(request.post_data) else request.post_data


def _is_json(text: str | None) -> bool:
    try:
        import json

        json.loads(text or "")
        return True
    except ValueError:
        return False


def api(page, name: str, body) -> requests.Response:
    """The same request, over plain HTTP."""
    sent = {"data": body.encode()} if isinstance(body, str) else {"json": body}
    return requests.post(f"{page.base_url}/models/{name}/predict", timeout=10, **sent)


def shown_percent(page, label: str) -> float:
    text = page.locator(f'.bars li[data-label="{label}"] .bar-value').inner_text()
    return float(text.replace("%", "").strip())


def top(page) -> str:
    return page.locator("[data-top]").get_attribute("data-top")


def draw(page, strokes: list[list[tuple[int, int]]]) -> None:
    box = page.locator("#digit-canvas").bounding_box()
    scale = box["width"] / 280
    for (x, y), *rest in strokes:
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=12)
        page.mouse.up()


# -------------------------------------------------------------------------------------------- digits
def test_a_1_set_in_the_8x8_cells_from_the_keyboard_alone_is_sent_as_those_cells_and_read_as_1(page):
    open_model(page, "digits")
    page.focus('input[name="digit-mode"][value="draw"]')
    page.keyboard.press("ArrowRight")  # radio buttons: the arrow key picks "cells"
    expect(page.locator("#digit-cells")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "row 1, column 1"
    # a vertical stroke down column 4: move there, then Space and ArrowDown row by row
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    for row in range(8):
        page.keyboard.press("Space")
        if row < 7:
            page.keyboard.press("ArrowDown")
    page.focus("#submit")
    with page.expect_request(lambda r: r.url.endswith("/models/digits/predict")) as request:
        page.keyboard.press("Enter")
    sent = request.value.post_data_json
    expected = [[16 if col == 3 else 0 for col in range(8)] for _ in range(8)]
    assert sent == {"pixels": expected, "k": 3}
    expect(page.locator("[data-top]")).to_have_count(1)
    assert top(page) == "1" == str(api(page, "digits", sent).json()["predictions"][0]["digit"])


def test_the_golden_example_loads_into_the_cells_and_is_read_as_the_0_it_is(page):
    open_model(page, "digits")
    page.click("#digit-example")
    sent = predict(page, "digits")
    from sklearn.datasets import load_digits

    assert sent["pixels"] == load_digits().images[0].tolist()  # the manifest's first golden image: a 0
    assert top(page) == "0"


# ----------------------------------------------------------------------------------------- sentiment
@pytest.mark.parametrize(("review", "label"), [("I loved it, a great and fun movie!", "positive"),
                                               ("The plot was boring and the acting awful.", "negative")])
def test_a_typed_review_gets_its_sentiment_with_the_probability_the_function_gives(page, review, label):
    open_model(page, "sentiment")
    page.fill("#review", review)
    sent = predict(page, "sentiment")
    assert sent == {"text": review}
    assert top(page) == label
    answer = api(page, "sentiment", sent).json()["predictions"][0]
    assert answer["label"] == label
    assert shown_percent(page, label) == pytest.approx(answer["score"] * 100, abs=0.051)


# --------------------------------------------------------------------------------------- recommender
def test_user_7_with_k_5_lists_the_5_items_the_recommender_ranks_first(page):
    open_model(page, "recommender")
    page.fill("#user", "7")
    page.fill("#k", "5")
    sent = predict(page, "recommender")
    assert sent == {"user_id": 7, "k": 5}
    shown = page.locator(".items li").evaluate_all("items => items.map(li => Number(li.dataset.item))")
    expected = [item["item_id"] for item in api(page, "recommender", sent).json()["recommendations"][0]["items"]]
    assert len(shown) == 5 and shown == expected


# ------------------------------------------------------------------------------------ tabular, generator
def test_the_tabular_form_names_the_manifests_features_and_shows_both_class_probabilities(page):
    open_model(page, "tabular")
    labels = page.locator("#fields label").all_inner_texts()
    assert labels == ["worst radius", "worst smoothness", "worst texture"]
    page.fill("#feature-0", "13")
    page.fill("#feature-1", "0.12")
    page.fill("#feature-2", "22")
    sent = predict(page, "tabular")
    assert sent == {"instances": [[13, 0.12, 22]]}
    answer = api(page, "tabular", sent).json()["predictions"][0]
    assert top(page) == answer["label"]
    for label, p in answer["probabilities"].items():
        assert shown_percent(page, label) == pytest.approx(p * 100, abs=0.051)


def test_the_generator_shows_4_drawn_3s_the_same_pngs_the_route_returns_for_seed_7(page):
    open_model(page, "generator")
    page.select_option("#digit", "3")
    page.fill("#count", "4")
    page.fill("#seed", "7")
    sent = predict(page, "generator")
    assert sent == {"digit": 3, "count": 4, "seed": 7}
    images = page.locator(".images img")
    expect(images).to_have_count(4)
    assert images.evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth === 128)")
    pngs = [image["png"] for image in api(page, "generator", sent).json()["images"]]
    assert images.evaluate_all("imgs => imgs.map(i => i.src.split(',')[1])") == pngs


def test_a_model_without_a_family_gets_a_json_editor_prefilled_from_its_golden_example(page):
    # GIVEN tabular's card without its family, as `lepton add` writes a manifest
    def no_family(route):
        card = route.fetch().json()
        route.fulfill(json={**card, "family": None})

    page.route("**/models/tabular/card", no_family)
    open_model(page, "tabular", ready="#json")
    # THEN the editor holds the golden example in the friendly route's generic shape, and it runs
    assert page.evaluate("JSON.parse(document.getElementById('json').value)") == {"instances": [[0.5, -1.0, 0.2]]}
    sent = predict(page, "tabular")
    shown = page.evaluate("JSON.parse(document.querySelector('#result pre').textContent)")
    assert shown == api(page, "tabular", sent).json()


# ---------------------------------------------------------------------------------------------- errors
def test_bad_inputs_show_the_apis_own_error_message(page):
    open_model(page, "recommender")
    page.fill("#user", "999")
    sent = predict(page, "recommender")
    refusal = api(page, "recommender", sent)
    assert refusal.status_code == 400
    expect(page.locator("#answer-error")).to_have_text(refusal.json()["error"])
    assert "unknown user id(s) 999" in page.locator("#answer-error").inner_text()
    expect(page.locator("#answer-meta")).to_contain_text("HTTP 400")
    expect(page.locator(".items li")).to_have_count(0)

    page.route("**/models/sentiment/card", lambda route: route.fulfill(json={**route.fetch().json(), "family": None}))
    open_model(page, "sentiment", ready="#json")
    page.fill("#json", '{"text": "fine",')
    sent = predict(page, "sentiment")
    assert sent == '{"text": "fine",'  # sent as typed: the API, not the page, says what is wrong
    expect(page.locator("#answer-error")).to_have_text(api(page, "sentiment", sent).json()["error"])
    expect(page.locator("#answer-error")).to_contain_text("request body is not valid JSON")


# ---------------------------------------------------------------------------- versions and deployments
def test_a_push_and_a_rollback_show_in_the_answer_and_the_panel_without_a_page_reload(page, stack, tmp_path):
    open_model(page, "tabular")
    page.evaluate("window.notReloaded = true")
    page.fill("#feature-0", "13")
    predict(page, "tabular")
    before = page.locator("#answer-version").inner_text()
    live = page.locator('#live tr[data-model="tabular"] .live-version')
    expect(live).to_have_text(before)

    # WHEN a new version is pushed, as a user pushes one
    data = mlp_model(31).SerializeToString()
    write_artifact(tmp_path / "next", data, manifest_for(data, metrics={"accuracy": 0.93}))
    assert main(["push", "tabular", str(tmp_path / "next"), "--endpoint", stack.base_url]) == 0
    pushed = f"v{int(before[1:]) + 1}"
    # THEN the panel shows it live and its promotion, the old answer says it is stale
    expect(live).to_have_text(pushed)
    promoted = page.locator(f'#attempts li[data-model="tabular"][data-version="{pushed[1:]}"][data-outcome="promoted"]')
    expect(promoted).to_have_count(1)
    # with its checks on the published version: the golden requests passed, the replay skipped (and why)
    expect(promoted.locator('.checks li[data-check="pre_traffic"]')).to_have_attribute("data-outcome", "passed")
    replay = promoted.locator('.checks li[data-check="replay"]')
    expect(replay).to_have_attribute("data-outcome", "skipped")
    expect(replay.locator(".summary")).to_contain_text("captured request(s) of live version")
    expect(page.locator("#answer-stale")).to_have_text(f" · {pushed} is live now")
    expect(page.locator("#model-info")).to_contain_text(f"version {pushed[1:]} · held-out accuracy 0.930")
    assert page.input_value("#feature-0") == "13"  # what was typed stays
    # AND the next answer comes from it
    sent = predict(page, "tabular")
    expect(page.locator("#answer-version")).to_have_text(pushed)
    expected = run(data, {"features": np.array(sent["instances"], np.float32)})["probabilities"][0]
    for label, p in zip(["malignant", "benign"], expected):
        assert shown_percent(page, label) == pytest.approx(p * 100, abs=0.051)

    # WHEN it is rolled back
    assert main(["rollback", "tabular", "--endpoint", stack.base_url]) == 0
    expect(live).to_have_text(before)
    expect(page.locator("#model-info")).to_contain_text(f"version {before[1:]} ·")
    rolled_back = page.locator(f'#attempts li[data-model="tabular"][data-outcome="rolled_back"]')
    expect(rolled_back.first).to_contain_text(f"tabular {before}")
    predict(page, "tabular")
    expect(page.locator("#answer-version")).to_have_text(before)
    assert page.evaluate("window.notReloaded") is True


def test_the_panel_shows_a_rejected_upload_with_its_check_and_reason_but_not_the_bucket_name(page, stack):
    page.goto(f"{page.base_url}/#tabular")
    # a manifest the deployer cannot read: its reason quotes the object's s3:// address
    key = "models/tabular/90/manifest.json"
    stack.client("s3").put_object(Bucket=stack.settings.bucket, Key=key, Body=b'{"name": "tabular"}')
    rejected = page.locator('#attempts li[data-model="tabular"][data-version="90"]')
    expect(rejected).to_have_attribute("data-outcome", "rejected")
    expect(rejected).to_contain_text("at check manifest")
    expect(rejected.locator(".reason")).to_have_text(
        f"s3://<bucket>/{key}: manifest is missing version, sha256, size, inputs, outputs")
    assert stack.settings.bucket not in page.locator("#deployments").inner_text()
    expect(page.locator("#hidden")).to_contain_text("lepton deployments")


def test_a_canary_in_the_status_shows_in_the_panel_with_its_version_and_weight(page):
    # GIVEN the real status with a canary of tabular v3 at 25 % added (the stack's deployer runs none)
    def with_canary(route):
        status = route.fetch().json()
        for model in status["models"]:
            if model["name"] == "tabular":
                model["canary"] = {"version": 3, "weight": 0.25, "started_at": "2026-11-29T12:00:00Z",
                                   "promote_after": "2026-11-29T12:05:00Z"}
        route.fulfill(json=status)

    page.route("**/status", with_canary)
    page.goto(f"{page.base_url}/#tabular")
    expect(page.locator('#live tr[data-model="tabular"] .canary')).to_contain_text("v3 at 25.0 %, until")
    expect(page.locator('#live tr[data-model="digits"] .canary')).to_have_text("none")


def test_every_live_version_shows_its_receipt_in_the_panel_and_beside_its_form(page, stack):
    # GIVEN the stack's promoted versions, each with the receipt its deployment measured
    status = requests.get(f"{page.base_url}/status", timeout=10).json()
    receipts = {m["name"]: m["receipt"] for m in status["models"]}
    page.goto(f"{page.base_url}/#sentiment")
    # THEN each model's row shows its live version's init, p50, p99, memory and price, and says how on hover
    for name, receipt in receipts.items():
        cell = page.locator(f'#live tr[data-model="{name}"] .live-receipt .receipt')
        expect(cell).to_contain_text(f"{receipt['max_memory_mb']} of {receipt['memory_mb']} MB")
        shown = re.fullmatch(r"init (\d+) ms · p50 ([\d.]+) ms · p99 ([\d.]+) ms · \d+ of \d+ MB · "
                             r"\$([\d.]+) per million", cell.inner_text())
        assert shown, cell.inner_text()
        init, p50, p99, usd = map(float, shown.groups())
        assert (init, p50, p99, usd) == pytest.approx(
            (receipt["init_ms"], receipt["p50_ms"], receipt["p99_ms"], receipt["usd_per_million"]), abs=0.51)
        assert "a fresh process" in cell.get_attribute("title")
    # AND the chosen model's form says what its version measured
    expect(page.locator("#model-receipt")).to_contain_text("Receipt of v1: init ")


# ------------------------------------------------------------------------------------ access and a11y
def test_a_typed_bearer_token_goes_with_each_call_and_is_kept_nowhere(page):
    open_model(page, "sentiment")
    with page.expect_request(lambda r: r.url.endswith("/models/sentiment/predict")) as plain:
        page.click("#submit")
    assert "authorization" not in plain.value.headers
    page.fill("#token", "eyJhbGciOi.test.token")
    with page.expect_request(lambda r: r.url.endswith("/models/sentiment/predict")) as signed:
        page.click("#submit")
    assert signed.value.headers["authorization"] == "Bearer eyJhbGciOi.test.token"
    assert page.evaluate("localStorage.length + sessionStorage.length + document.cookie.length") == 0


def test_at_a_phones_width_every_model_fits_and_every_control_has_a_label(page):
    page.set_viewport_size({"width": 375, "height": 800})
    unlabelled = """() => [...document.querySelectorAll('input, select, textarea, button, canvas[role]')]
        .filter(e => e.offsetParent !== null || e.type === 'radio')
        .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim()))
        .map(e => e.outerHTML)"""
    for name, ready in FORM_READY.items():
        open_model(page, name, ready)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
        assert page.evaluate(unlabelled) == [], name


# ----------------------------------------------------------------------------- drawing, and the screenshot
# Last, so its screenshot (docs/playground.png) also shows the deployments the tests above made.
def test_a_7_drawn_by_mouse_is_read_as_7_with_the_top_3_the_digits_function_gives_for_that_png(page):
    open_model(page, "digits")
    draw(page, SEVEN)
    sent = predict(page, "digits")
    assert set(sent) == {"image", "k"} and sent["k"] == 3  # the drawing itself, as a PNG
    assert top(page) == "7"
    expect(page.locator("#answer-version")).to_have_text("v1")
    answer = api(page, "digits", sent).json()["predictions"][0]
    assert answer["digit"] == 7
    shown = page.locator(".bars li").evaluate_all("items => items.map(li => li.dataset.label)")
    assert shown == [str(t["digit"]) for t in answer["top_k"]]
    for t in answer["top_k"]:
        assert shown_percent(page, str(t["digit"])) == pytest.approx(t["probability"] * 100, abs=0.051)
    expect(page.locator("canvas.seen")).to_have_count(1)  # the 8x8 the model read, echoed back
