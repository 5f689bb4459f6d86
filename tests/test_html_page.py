"""The interactive derivation page: its HTML (escaping, size, limits) and, in headless Chromium, what it shows.

The browser tests open the page from disk with every request blocked, step through it with the
keyboard and the buttons, and read the numbers off the page: they must be the numbers chainrule
computes (and, for seed-004, the report's hand-derived ones).
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from html_targets import network as three_matrix_network

import chainrule as cr
from chainrule.check import check_graph, gradcheck
from chainrule.cli import main
from chainrule.examples import scalar_network as seed
from chainrule.explanation.html_page import MAX_OPS, _json_for_script, view

TARGETS = Path(__file__).resolve().parent / "html_targets.py"
SUPERSCRIPTS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def shown_number(text: str) -> float:
    """A number as the page writes it (0.787513, -0.7, 1.67×10⁻⁵, 10⁻⁸) as a float."""
    text = text.strip()
    power = re.fullmatch(r"(?:(-?[\d.]+)×)?(-?)10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text)
    if power:
        mantissa = float(power[1]) if power[1] else (-1.0 if power[2] else 1.0)
        return mantissa * 10.0 ** int(power[3].translate(SUPERSCRIPTS))
    return float(text)


def data_of(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="chainrule-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


# --------------------------------------------------------------------------- the HTML, in Python
def test_seed_page_is_one_small_file_that_fetches_nothing(tmp_path) -> None:
    path = cr.explain(seed.build()[0]).save_html(tmp_path / "page.html")
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 300_000
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)  # no script, style, font or image from afar
    assert "@import" not in page and "url(http" not in page and "@font-face" not in page
    assert page.count("<script") == 2 and "<svg" in page
    assert all(step["math"].startswith('<math display="block">') for step in data_of(page)["backward"])


def test_page_numbers_are_the_explanations_numbers() -> None:
    loss, nodes = seed.build()
    explanation = cr.explain(loss)
    data = data_of(explanation.html_page())
    names = [node["name"] for node in data["nodes"]]
    assert data["nodes"][names.index("h1")]["value"] == {"text": "0.787513"}
    last = data["backward"][-1]  # t1 = x1 · w1, as the text's last backward line
    assert data["nodes"][last["node"]]["name"] == "t1"
    part = last["contributions"][0]
    assert (part["name"], part["value"]["text"], part["local"]["text"]) == ("w1", "0.000898891", "-0.7")
    assert "∂Div/∂w1 = ∂Div/∂t1 · ∂t1/∂w1 = (-0.00128413) · (-0.7) = 0.000898891" in explanation.text()


def test_downloads_are_the_markdown_and_latex_of_explain() -> None:
    explanation = cr.explain(seed.build()[0])
    page = explanation.html_page()
    for kind, text in (("markdown", explanation.markdown()), ("latex", explanation.latex())):
        href = re.search(rf'id="download-{kind}"[^>]*href="data:[^,]*,([^"]*)"', page).group(1)
        assert urllib.parse.unquote(href) == text


def test_names_with_html_characters_are_escaped() -> None:
    w = cr.tensor(2.0, requires_grad=True, name="<script>alert(1)</script>")
    v = cr.tensor(3.0, requires_grad=True, name='a"b&c')
    page = cr.explain((w * v).named("</script><b>L")).html_page()
    assert "<script>alert" not in page and "</script><b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and 'data-name="a&quot;b&amp;c"' in page
    data = data_of(page)
    assert [node["name"] for node in data["nodes"]][:2] == ["<script>alert(1)</script>", 'a"b&c']


def test_json_in_a_script_cannot_end_it() -> None:
    text = _json_for_script({"name": "</script><script>x()</script>", "amp": "&", "sep": "\u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"name": "</script><script>x()</script>", "amp": "&", "sep": "\u2028"}


def test_a_large_graph_gets_an_outline() -> None:
    x = cr.tensor(np.ones(3), requires_grad=True, name="layer.weight")
    total = x
    for _ in range(MAX_OPS):
        total = total * 1.001 + x
    page = cr.explain(total.sum()).html_page()
    assert "<svg" not in page and "chainrule-data" not in page
    assert f"This graph has {2 * MAX_OPS + 1} ops, more than {MAX_OPS}" in page
    assert re.search(r"<tr><td>add</td><td>200</td><td>\(3,\)</td></tr>", page)
    assert re.search(r"<tr><td>mul</td><td>200</td>", page) and "<h3>layer</h3>" in page


def test_a_million_numbers_are_summarised_never_written_out() -> None:
    values = np.arange(1_000_000, dtype=np.float64).reshape(1000, 1000) / 7
    x = cr.tensor(values, requires_grad=True, name="x")
    page = cr.explain((x * x).sum()).html_page()
    assert len(page) < 200_000
    shown = view(values, 6)
    assert shown["summary"] == "(1000, 1000) min 0 max 142857 mean 71428.5" and shown["more"] == 1_000_000 - 400
    assert len(shown["rows"]) == 20 and {len(row) for row in shown["rows"]} == {20}
    assert "142857" in page and "100043" not in page  # the max in the summary; x[700, 300] = 700300 / 7 nowhere


def test_numbers_are_read_as_the_page_writes_them() -> None:
    assert [shown_number(text) for text in ("0.787513", "-0.7", "1.67×10⁻⁵", "10⁻⁸", "-2×10¹²")] == [
        0.787513,
        -0.7,
        pytest.approx(1.67e-5),
        pytest.approx(1e-8),
        pytest.approx(-2e12),
    ]


def test_views_of_numbers_tables_and_summaries() -> None:
    assert view(np.float64(1.5e-9), 3) == {"text": "1.5×10⁻⁹"}
    assert view(np.array([[1.0, -2.5]]), 6) == {"shape": "(1, 2)", "rows": [["1", "-2.5"]]}
    assert view(np.array([1, 2, 3]), 6) == {"shape": "(3,)", "rows": [["1", "2", "3"]]}
    cube = view(np.arange(24.0).reshape(2, 3, 4), 6)
    assert cube["summary"] == "(2, 3, 4) min 0 max 23 mean 11.5" and cube["rows"][1] == ["4", "5", "6", "7"]
    assert view(np.zeros((0, 3)), 6)["summary"] == "(0, 3) empty"


def test_unbroadcast_axes_and_accumulation_are_in_the_data() -> None:
    loss, tensors = three_matrix_network()
    data = data_of(cr.explain(loss).html_page())
    names = [node["name"] for node in data["nodes"]]
    into_b = [p for step in data["backward"] for p in step["contributions"] if p["name"] == "b"]
    assert len(into_b) == 1 and into_b[0]["axes"] == [0] and into_b[0]["broadcast_from"] == "(4, 3)"
    into_w = [p for step in data["backward"] for p in step["contributions"] if p["name"] == "w"]
    assert [(p["received"], p["uses"], p["shared"]) for p in into_w] == [(1, 2, True), (2, 2, True)]
    stages = data["stages"][names.index("w")]
    assert [stage["label"] for stage in stages] == ["∂L/∂w (1 of 2 uses)", "∂L/∂w (2 of 2 uses)"]
    half = tensors["w"].data / 4  # ∂(Σ w·w / 4)/∂w = w / 2, half from each use
    assert np.allclose([[float(c) for c in row] for row in stages[0]["value"]["rows"]], half, rtol=1e-5)
    assert np.allclose([[float(c) for c in row] for row in stages[1]["value"]["rows"]], 2 * half, rtol=1e-5)


def test_a_failing_check_marks_its_op() -> None:
    from html_targets import wrong_network

    loss = wrong_network()
    report = check_graph(loss)
    assert not report
    page = cr.explain(loss).html_page(check=report)
    data = data_of(page)
    names = [node["name"] for node in data["nodes"]]
    assert data["check"]["failed"] == [names.index("h")] and re.search(
        r'class="node kind-op failed"[^>]*data-name="h"', page
    )
    failure = next(step for step in data["backward"] if step["node"] == names.index("h"))["check"][0]
    assert (failure["op"], failure["input"], failure["element"]) == ("wrongsigmoid", "s", "()")
    h = 1 / (1 + np.exp(-1.31))
    # the wrong backward gives upstream · σ, finite differences upstream · σ(1 − σ): their ratio is 1/(1 − σ)
    backward, finite = (shown_number(failure["values"][label]) for label in ("backward", "finite diff"))
    assert backward / finite == pytest.approx(1 / (1 - h), rel=1e-4)


def test_check_must_be_a_check_graph_report() -> None:
    loss = seed.build()[0]
    report = gradcheck(seed.divergence, *seed.W)
    with pytest.raises(TypeError, match="^save_html: check must be the report of chainrule.check.check_graph"):
        cr.explain(loss).html_page(check=report)


def test_notebook_repr_is_a_sandboxed_frame_of_the_page() -> None:
    explanation = cr.explain(seed.build()[0])
    frame = explanation._repr_html_()
    assert frame.startswith('<iframe class="chainrule-explain" sandbox="allow-scripts allow-downloads"')
    assert "allow-same-origin" not in frame and "<script" not in frame  # the page is only in the escaped srcdoc
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame).group(1)
    assert html.unescape(srcdoc) == explanation.html_page()


def test_cli_writes_the_page(tmp_path, capsys) -> None:
    path = tmp_path / "page.html"
    assert main(["explain", "seed-004", "--html", str(path)]) == 0
    assert "page saved to" in capsys.readouterr().err
    assert data_of(path.read_text(encoding="utf-8"))["loss"] == "Div"


def test_cli_gradcheck_page_marks_the_wrong_op(tmp_path, capsys) -> None:
    path = tmp_path / "bad.html"
    assert main(["gradcheck", f"{TARGETS}:wrong_network", "--html", str(path)]) == 1
    data = data_of(path.read_text(encoding="utf-8"))
    assert [data["nodes"][n]["name"] for n in data["check"]["failed"]] == ["h"]


# --------------------------------------------------------------------------- in the browser
@pytest.fixture
def open_page(browser):
    """Open a page in a fresh tab with every request blocked: the tab, the requests it tried, its console errors."""
    contexts = []

    def opened(path):
        context = browser.new_context(viewport={"width": 1400, "height": 800})
        contexts.append(context)
        requests, errors = [], []
        url = path.resolve().as_uri()
        context.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        return page, requests, errors

    yield opened
    for context in contexts:
        context.close()


def current_node(page) -> str:
    return page.locator("g.node.current").get_attribute("data-name")


def panel_number(page, selector: str) -> float:
    return shown_number(page.locator(f"#panel {selector}").first.text_content())


def test_seed_004_in_the_browser(open_page, tmp_path) -> None:
    loss, tensors = seed.build()
    path = cr.explain(loss).save_html(tmp_path / "seed.html")
    loss.backward()
    page, requests, errors = open_page(path)
    h1 = page.locator('g.node[data-name="h1"] .value text')
    assert not h1.is_visible()  # not computed yet
    forward_order = []
    for _ in range(14):  # every op of the forward pass, by keyboard
        page.keyboard.press("ArrowRight")
        forward_order.append(current_node(page))
    assert forward_order[:4] == ["t1", "t2", "s1", "h1"] and forward_order[-1] == "Div"
    shown = {
        name: shown_number(page.locator(f'g.node[data-name="{name}"] .value text').text_content())
        for name in ("h1", "h2", "yhat", "Div")
    }
    for name, value in shown.items():
        assert value == float(f"{tensors[name].item():.6g}")  # chainrule's own value, to 6 digits
        assert value == pytest.approx(seed.SEED_VALUES[name], abs=6e-5)  # the report's
    # the backward pass, by button and by key in turn; the report's chain, computed by hand in NumPy
    x1, w5, y = seed.X[0], seed.W[4], seed.Y
    h1_value, yhat = tensors["h1"].item(), tensors["yhat"].item()
    d_yhat = 2 * (yhat - y)
    d_s3 = d_yhat * yhat * (1 - yhat)
    d_h1 = d_s3 * w5
    d_s1 = d_h1 * h1_value * (1 - h1_value)
    expected = {"yhat": d_yhat, "s3": d_s3, "h1": d_h1, "s1": d_s1, "w1": d_s1 * x1}
    page.get_by_role("button", name="backward pass »").click()
    seen, order = {}, []
    for k in range(14):
        order.append(current_node(page))
        assert page.locator("#position").text_content() == f"backward {k + 1} of 14"
        for section in page.locator("#panel section.contribution").all():
            name = section.get_attribute("data-name")
            seen[name] = shown_number(section.locator(".contribution").text_content())
            upstream = shown_number(section.locator(".upstream").text_content())
            local = shown_number(section.locator(".local").text_content())
            assert seen[name] == pytest.approx(upstream * local, rel=1e-5)  # the chain rule, as shown (rounded)
        if k % 2:
            page.keyboard.press("ArrowRight")
        else:
            page.get_by_role("button", name="next ▶").click()
    assert order[:3] == ["Div", "t7", "yhat"] and order[-1] == "t1" and len(set(order)) == 14
    for name, value in expected.items():
        assert seen[name] == float(f"{value:.6g}")
        assert seen[name] == pytest.approx(seed.SEED_BACKWARD[f"dDiv/d{name}"], rel=5e-4)  # the report's rounding
    for i in range(1, 7):  # every weight's gradient, on the graph, as chainrule's backward() computed it
        gradient = page.locator(f'g.node[data-name="w{i}"] .grad.shown text.number').text_content()
        assert shown_number(gradient) == float(f"{float(tensors[f'w{i}'].grad):.6g}")
    page.get_by_role("button", name="◀ back").click()
    assert current_node(page) == "t2" and not page.locator('g.node[data-name="w1"] .grad.shown').count()
    page.screenshot(path=tmp_path / "seed.png")
    assert (tmp_path / "seed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert requests == [path.resolve().as_uri()] and errors == []


def test_three_matrix_network_in_the_browser(open_page, tmp_path, torch) -> None:
    path = tmp_path / "three.html"
    assert main(["explain", f"{TARGETS}:three_matrix_batch", "--html", str(path)]) == 0
    loss, tensors = three_matrix_network()
    loss.backward()
    page, requests, errors = open_page(path)
    page.keyboard.press("End")
    assert page.locator("#position").text_content() == "backward 9 of 9"
    # the oracle: the same network in PyTorch
    params = {name: torch.tensor(tensors[name].data, requires_grad=True) for name in "ABCb"}
    X = torch.tensor(tensors["X"].data)
    u = torch.sigmoid(X @ params["A"] + params["b"])
    w = (u + X @ params["B"]) @ params["C"]
    ((w * w).sum() / 4).backward()
    for name in "ABCb":
        cells = page.locator(f'g.node[data-name="{name}"] .grad.shown text.number').all_text_contents()
        shown = np.array([shown_number(cell) for cell in cells]).reshape(tensors[name].shape)
        assert np.allclose(shown, tensors[name].grad, rtol=1e-5, atol=0)
        assert np.allclose(shown, params[name].grad.numpy(), rtol=1e-5, atol=0)
    for _ in range(20):  # back to the step of y = t1 + b, where b's gradient is summed over the batch
        if current_node(page) == "y":
            break
        page.keyboard.press("ArrowLeft")
    into_b = page.locator('#panel section.contribution[data-name="b"]')
    assert "summed over axis 0" in into_b.locator(".unbroadcast").text_content()
    cells = into_b.locator(".contribution td").all_text_contents()
    assert np.allclose([shown_number(c) for c in cells], params["b"].grad.numpy(), rtol=1e-5)
    while current_node(page) != "t2":  # w · w: two contributions into w, added
        page.get_by_role("button", name="◀ back").click()
    sections = page.locator('#panel section.contribution[data-name="w"]')
    assert sections.count() == 2
    assert "contribution 2 of 2, the last" in sections.nth(1).locator(".accumulation").text_content()
    total = [shown_number(c) for c in sections.nth(1).locator(".total td").all_text_contents()]
    assert np.allclose(total, (w / 2).detach().numpy().ravel(), rtol=1e-5)
    page.locator('g.node[data-name="X"] .value').scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "three.png")
    assert requests == [path.resolve().as_uri()] and errors == []


def test_names_show_as_text_in_the_browser(open_page, tmp_path) -> None:
    w = cr.tensor(2.0, requires_grad=True, name="<script>alert(1)</script>")
    path = cr.explain((w * w).named("L")).save_html(tmp_path / "names.html")
    page, requests, errors = open_page(path)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.keyboard.press("End")
    assert page.locator("g.node.kind-parameter .name").text_content() == "<script>alert(1)</script>"
    assert "∂L/∂<script>alert(1)</script>" in page.locator("#panel").inner_text()
    assert dialogs == [] and errors == []


def test_two_notebook_frames_step_on_their_own(open_page, tmp_path) -> None:
    first = cr.explain(seed.build()[0])._repr_html_()
    second = cr.explain(three_matrix_network()[0])._repr_html_()
    path = tmp_path / "notebook.html"
    path.write_text(f"<!DOCTYPE html><html><body>{first}{second}</body></html>", encoding="utf-8")
    page, requests, errors = open_page(path)
    frames = page.frame_locator("iframe.chainrule-explain")
    one, two = frames.nth(0), frames.nth(1)
    one.get_by_role("button", name="backward pass »").click()
    one.get_by_role("button", name="next ▶").click()
    assert one.locator("#position").text_content() == "backward 2 of 14"
    assert two.locator("#position").text_content() == "start: the inputs and parameters"
    two.get_by_role("button", name="next ▶").click()
    assert two.locator("#position").text_content() == "forward 1 of 9"
    assert one.locator("#position").text_content() == "backward 2 of 14" and errors == []


def test_print_view_shows_the_whole_derivation(open_page, tmp_path) -> None:
    path = cr.explain(seed.build()[0]).save_html(tmp_path / "page.html")
    page, _, errors = open_page(path)
    assert not page.locator("#print-view").is_visible()
    page.get_by_role("button", name="print view").click()
    assert page.locator("#print-view").is_visible() and not page.locator("#graph").is_visible()
    text = page.locator("#print-view").inner_text()
    assert "(-0.00128413) · (-0.7) = 0.000898891" in text and page.locator("#print-view a").count() == 0
    page.get_by_role("button", name="print view").click()  # off on screen; printing shows it anyway
    assert not page.locator("#print-view").is_visible()
    page.emulate_media(media="print")
    assert page.locator("#print-view").is_visible() and errors == []


def test_a_million_numbers_expand_to_their_first_rows_in_the_browser(open_page, tmp_path) -> None:
    x = cr.tensor(np.arange(1_000_000, dtype=np.float64).reshape(1000, 1000) / 7, requires_grad=True, name="x")
    path = cr.explain((x * x).sum().named("L")).save_html(tmp_path / "big.html")
    page, requests, errors = open_page(path)
    summary = page.locator('g.node[data-name="x"] .value .summary').text_content()
    assert summary == "(1000, 1000) min 0 max 142857 mean 71428.5"
    page.locator('g.node[data-name="x"] .value .expand').click()
    expanded = page.locator("#panel section.expanded")
    cells = expanded.locator("td").all_text_contents()
    assert len(cells) == 400 and cells[:2] == ["0", "0.142857"] and cells[20] == "142.857"  # x[1, 0] = 1000 / 7
    assert "999600 more numbers not written out" in expanded.text_content()
    page.keyboard.press("End")  # ∂(Σ x²)/∂x = 2x, summarised too
    gradient = page.locator('g.node[data-name="x"] .grad.shown .summary').text_content()
    assert gradient == "(1000, 1000) min 0 max 285714 mean 142857"
    assert requests == [path.resolve().as_uri()] and errors == []


def test_a_failing_gradcheck_page_shows_the_wrong_op_in_the_browser(open_page, tmp_path) -> None:
    path = tmp_path / "bad.html"
    assert main(["gradcheck", f"{TARGETS}:wrong_network", "--html", str(path)]) == 1
    page, requests, errors = open_page(path)
    assert "check_graph FAILED" in page.locator("#check").text_content()
    wrong = page.locator('g.node[data-name="h"]')
    assert "failed" in wrong.get_attribute("class")
    assert wrong.locator(".box").evaluate("box => getComputedStyle(box).stroke") == "rgb(220, 38, 38)"
    page.get_by_role("button", name="backward pass »").click()
    while current_node(page) != "h":
        page.keyboard.press("ArrowRight")
    failure = page.locator("#panel section.check-failed")
    assert "wrongsigmoid: backward disagrees with finite differences" in failure.text_content()
    backward, finite = (shown_number(text) for text in failure.locator(".check-value").all_text_contents())
    upstream = panel_number(page, ".backward-step > .labelled .upstream")  # ∂L/∂h = 2(h − 0.5)
    h = 1 / (1 + np.exp(-1.31))
    assert backward / finite == pytest.approx(1 / (1 - h), rel=1e-4)  # σ written where σ(1 − σ) belongs
    assert upstream == pytest.approx(2 * (h - 0.5), rel=1e-5)
    assert requests == [path.resolve().as_uri()] and errors == []


def test_a_path_that_is_not_a_file_name_is_one_line(capsys) -> None:
    w = cr.tensor(2.0, requires_grad=True, name="w")
    with pytest.raises(TypeError, match=r"^save_html: path must be a file name \(a str or a Path\), got 42$"):
        cr.explain((w * w).named("L")).save_html(42)
    assert main(["explain", "seed-004", "--html", ""]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "chainrule explain: cannot save to an empty path; give a file name"
    )
