"""chainrule.explanation.markup: names, formulas and numbers for LaTeX and Markdown, special characters escaped."""

from __future__ import annotations

from chainrule.explanation.markup import latex_formula, latex_name, markdown_cell, markdown_code, markdown_text


def test_latex_names_escape_every_special_character() -> None:
    assert latex_name("a\\b") == r"\text{a\textbackslash{}b}"
    assert latex_name("a|b{c}<d>") == r"\text{a\textbar{}b\{c\}\textless{}d\textgreater{}}"
    assert latex_name("x_y^z%#&$~") == r"\text{x\_y\textasciicircum{}z\%\#\&\$\textasciitilde{}}"
    assert latex_name("my weight") == r"\text{my weight}"
    assert latex_name("") == r"\text{}"
    assert latex_name("layers.0.weight") == r"\mathrm{layers.0.weight}"
    assert latex_name("x_y") == r"\mathrm{x\_y}"
    assert latex_name("e") == "e" and latex_name("2.5e-07") == r"2.5 \times 10^{-7}"


def test_latex_formulas_write_numbers_and_exponents_as_latex() -> None:
    assert latex_formula("clip(x, 1e-08, inf)") == r"\operatorname{clip}(x, 10^{-8}, \infty)"
    assert latex_formula("x^2.5 · y^1e-05") == r"x^{2.5} \cdot y^{10^{-5}}"
    assert latex_formula("w1e5 · 3") == r"w1e5 \cdot 3"  # a number inside a word is no number


def test_markdown_escapes() -> None:
    assert markdown_cell("|x|") == r"\|x\|"
    assert markdown_text("w*1_[a]<b>&c~`") == r"w\*1\_\[a\]\<b\>\&c\~\`"
    assert markdown_code("w1") == "`w1`"
    assert markdown_code("a`b|c") == r"``a`b\|c``"  # in a table a bar ends the cell, even in code
    assert markdown_code("`a|", in_table=False) == "`` `a| ``"
