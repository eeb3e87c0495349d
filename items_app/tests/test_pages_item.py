"""The item pages in a real browser (Chromium): registering through the form, uploading with a progress bar,
downloading, sharing, and what another user of the tenant sees.
"""

from __future__ import annotations

import hashlib
import os
import re

from folksonomy_app.models import Tag
from items_app.models import Version
from testing.browser import screenshot
from testing.helpers import api_item, seed_catalog

ITEM_URL = re.compile(r".*/models/[0-9a-f]{24}/$")


def test_a_user_registers_a_model_with_tags_and_metadata_through_the_form(acme, browser_page, sign_in):
    admin = acme.client("ada")
    admin.post("/v1/tags", {"_id": "vision"}, format="json")  # a curated (default) tag
    admin.post("/v1/metadata", {"_id": "accuracy"}, format="json")
    api_item(acme, "ada", name="other", tags=["visual-qa"])  # a folk tag, found only by asking the server
    page = sign_in("acme", "reggie")

    page.get_by_role("link", name="Register a model").first.click()
    page.wait_for_url("**/models/new/")  # waits for the load event: the form's script has run
    page.get_by_label("Name", exact=True).fill("resnet50-imagenet")
    page.get_by_label("Status").select_option("test")
    page.get_by_label("Description").fill("ResNet-50 fine-tuned on ImageNet-1k.")
    tags = page.get_by_label("Tags", exact=True)
    tags.press_sequentially("vi")
    page.locator('#tag-options option[value="visual-qa"]').wait_for(state="attached")
    options = page.locator("#tag-options option")
    assert options.first.get_attribute("value") == "vision"  # curated entries first
    assert options.first.get_attribute("label") == "curated"
    tags.fill("vision")
    tags.press("Enter")
    tags.press_sequentially("cnn,")
    assert page.locator(".chip-list .chip span").all_inner_texts() == ["vision", "cnn"]
    assert page.locator('#metadata-options option[value="accuracy"]').count() == 1
    page.locator("[data-meta-name]").nth(0).fill("accuracy")
    page.locator("[name=meta_value]").nth(0).fill("0.93")
    page.get_by_role("button", name="+ Add a metadata row").click()
    page.locator("[data-meta-name]").nth(1).fill("framework")
    page.locator("[name=meta_value]").nth(1).fill("onnx")
    page.get_by_role("button", name="+ Add a metadata row").click()
    page.locator("[data-meta-name]").nth(2).fill("scratch")
    page.get_by_role("button", name="Remove metadata row").nth(2).click()
    page.get_by_label("Shared with", exact=True).fill("olive")
    page.get_by_label("Shared with", exact=True).press("Enter")
    screenshot(page, "create-form")
    page.get_by_role("button", name="Register model").click()

    page.wait_for_url(ITEM_URL)
    assert page.get_by_text("Model “resnet50-imagenet” registered.").is_visible()
    item_id = page.url.rstrip("/").split("/")[-1]
    document = acme.client("reggie").get(f"/v1/models/{item_id}").json()
    assert document["tags"] == ["cnn", "vision"]
    assert document["users"] == ["olive"]
    assert document["status"] == "test"
    assert document["metadata"] == [{"name": "accuracy", "value": 0.93}, {"name": "framework", "value": "onnx"}]
    assert page.get_by_role("link", name="vision").get_attribute("href") == "/models/?tag=vision"
    assert acme.count(Tag) == 3


def test_the_owner_uploads_a_version_with_a_progress_bar_then_downloads_it(acme, browser_page, sign_in, tmp_path):
    model = api_item(acme, "reggie", name="bert-sentiment", tags=["nlp"], metadata=[{"name": "f1", "value": 0.91}])
    content = os.urandom(6 * 1024 * 1024)
    upload = tmp_path / "bert-sentiment v2.onnx"
    upload.write_bytes(content)
    page = sign_in("acme", "reggie")
    page.goto(f"/models/{model['_id']}/")
    assert page.get_by_text("No versions yet. Upload the first file below.").is_visible()

    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_label("Version description").fill("epoch 90")
    page.get_by_label("Version label").fill("v2.0-rc1")
    page.evaluate(
        """() => {
            const bar = document.querySelector('[data-upload] progress');
            window.progressSeen = [];
            new MutationObserver(() => window.progressSeen.push(Number(bar.value)))
                .observe(bar, {attributes: true, attributeFilter: ['value']});
        }"""
    )
    page.get_by_role("button", name="Upload").click()

    sha256 = hashlib.sha256(content).hexdigest()
    page.locator("[data-upload-sha256]").wait_for()
    assert page.locator("[data-upload-sha256]").inner_text() == sha256
    assert page.locator("[data-upload] progress").get_attribute("value") == "100"
    assert page.locator("[data-upload-percent]").inner_text() == "100%"
    seen = page.evaluate("window.progressSeen")
    assert seen[-1] == 100
    assert seen == sorted(seen)
    row = page.locator("tr[data-version='1']")
    row.wait_for()
    assert "bert-sentiment v2.onnx" in row.inner_text()
    assert "6.0\xa0MB" in row.inner_text()  # filesizeformat joins with a no-break space
    assert "epoch 90" in row.inner_text()
    assert "v2.0-rc1" in row.inner_text()
    screenshot(page, "upload-done")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download version 1 (bert-sentiment v2.onnx)").click()
    download = info.value
    assert download.suggested_filename == "bert-sentiment v2.onnx"
    with open(download.path(), "rb") as handle:
        assert handle.read() == content


def test_an_upload_cut_off_continues_after_a_reload_from_where_it_stopped(
    acme, browser_page, sign_in, tmp_path, settings
):
    settings.UPLOAD_CHUNK_SIZE = 1024 * 1024  # six pieces
    model = api_item(acme, "reggie", name="llm")
    content = os.urandom(6 * 1024 * 1024)
    upload = tmp_path / "llm.safetensors"
    upload.write_bytes(content)
    page = sign_in("acme", "reggie")
    page.goto(f"/models/{model['_id']}/")
    patches: list[str] = []
    page.on("request", lambda r: patches.append(r.headers["upload-offset"]) if r.method == "PATCH" else None)

    def the_link_drops_after_two_pieces(route):
        if route.request.method == "PATCH" and len(patches) > 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/uploads/*", the_link_drops_after_two_pieces)
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()
    for _ in range(200):  # two pieces stored, the third refused by the dropped link, and retried
        if len(patches) >= 4:
            break
        page.wait_for_timeout(100)
    assert len(patches) >= 4
    assert page.locator("[data-upload] progress").get_attribute("value") == "33"
    assert acme.count(Version) == 0

    page.unroute("**/uploads/*")
    page.reload()
    patches.clear()
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()

    page.locator("[data-upload-sha256]").wait_for()
    assert page.locator("[data-upload-sha256]").inner_text() == hashlib.sha256(content).hexdigest()
    assert int(patches[0]) == 2 * 1024 * 1024  # continued at the third piece, not from the first byte
    assert len(patches) == 4
    page.locator("tr[data-version='1']").wait_for()
    assert acme.count(Version) == 1
    screenshot(page, "upload-resumed")


def test_a_private_model_is_hidden_from_another_user_until_the_owner_shares_it(acme, browser_page, sign_in):
    model = api_item(
        acme,
        "reggie",
        name="churn-predictor",
        tags=["tabular"],
        metadata=[{"name": "auc", "value": 0.87}, {"name": "framework", "value": "xgboost"}],
        description="Predicts which customers leave next quarter.",
    )
    page = sign_in("acme", "olive")
    assert page.get_by_role("link", name="churn-predictor").count() == 0
    response = page.goto(f"/models/{model['_id']}/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert page.get_by_text("churn-predictor").count() == 0
    page.get_by_role("button", name="Sign out").click()

    page = sign_in("acme", "reggie")
    page.goto(f"/models/{model['_id']}/")
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/models/{model['_id']}/edit/")  # waits for the load event: the form's script has run
    sharing = page.get_by_label("Shared with", exact=True)
    sharing.press_sequentially("ol")
    page.locator('#user-options option[value="olive"]').wait_for(state="attached")
    sharing.fill("olive")
    sharing.press("Enter")
    screenshot(page, "edit-form")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/models/{model['_id']}/")
    assert page.get_by_text("Saved your changes to “churn-predictor”.").is_visible()
    assert page.locator("[data-shared-with]").inner_text() == "olive"
    screenshot(page, "item-shared")
    page.get_by_role("button", name="Sign out").click()

    page = sign_in("acme", "olive")
    assert page.get_by_role("link", name="churn-predictor").is_visible()
    page.get_by_role("link", name="churn-predictor").click()
    page.wait_for_url(f"**/models/{model['_id']}/")
    assert page.get_by_role("heading", name="churn-predictor").is_visible()
    assert page.get_by_role("link", name="Edit").count() == 0


def test_the_owner_deletes_a_model_after_confirming(acme, browser_page, sign_in):
    model = api_item(acme, "reggie", name="old-model")
    page = sign_in("acme", "reggie")
    page.goto(f"/models/{model['_id']}/")

    page.get_by_role("link", name="Delete").click()
    page.wait_for_url("**/delete/")
    assert page.get_by_role("heading", name="Delete the model “old-model”?").is_visible()
    page.get_by_role("button", name="Delete model").click()

    page.wait_for_url("**/models/")
    assert page.get_by_text("Deleted the model “old-model”.").is_visible()
    assert page.get_by_text("No models yet — register one").is_visible()


def test_the_item_page_links_lineage_both_ways(acme, browser_page, sign_in):
    items = seed_catalog(acme)
    page = sign_in("acme", "reggie")
    page.goto(f"/models/{items['resnet']['_id']}/")

    assert page.locator("table.metadata").inner_text().count("\n") >= 4
    assert page.locator("tr[data-version='1']").inner_text().startswith("v1\tresnet50.onnx")
    screenshot(page, "item")
    page.get_by_role("link", name="imagenet-1k").click()

    page.wait_for_url(f"**/datasets/{items['imagenet']['_id']}/")
    lineage = page.get_by_role("region", name="Lineage")
    assert lineage.get_by_role("link").all_inner_texts() == ["resnet50-imagenet", "resnet50-imagenet-v2"]
