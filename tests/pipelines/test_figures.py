"""Computed figures: operands picked from table cells, arithmetic in Decimal, formula and cells returned."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipelines.figures import answer_from_tables, computed_answer_for_passages, table_from_json, understand
from pipelines.figures.numbers import detect_scale, parse_number


def income_statement(scale: str = "million") -> dict:
    """An income statement as the table chunks store it; the older year is printed first on purpose."""
    columns = [{"header": "Fiscal 2022", "period": "FY2022"}, {"header": "Fiscal 2023", "period": "FY2023"}]

    def row(label: str, fy2022: str, fy2023: str) -> dict:
        return {"label": label, "cells": [{"col": 0, "text": fy2022}, {"col": 1, "text": fy2023}]}

    return {
        "title": "Consolidated statements of operations",
        "headers": [["", "Fiscal 2022", "Fiscal 2023"]],
        "columns": columns,
        "rows": [
            row("Net sales", "$394,328", "$383,285"),
            row("Cost of sales", "(223,546)", "(214,137)"),
            row("Gross profit", "170,782", "169,148"),
            row("Operating income", "119,437", "114,301"),
            row("Other income (expense), net", "(334)", "(565)"),
            row("Effective tax rate", "16.2%", "14.7%"),
        ],
        "scale": scale,
        "unit": "$",
    }


@pytest.fixture
def statement():
    return [table_from_json(income_statement(), ref="chunk-is-1")]


def operand_cells(answer) -> list[tuple[str, str, Decimal]]:
    return [(o.row_label, o.column_header, o.value) for o in answer.operands]


def test_growth_answer_has_formula_operands_and_percent_unit(statement):
    answer = answer_from_tables("What was the percentage change in net sales from FY2022 to FY2023?", statement)

    assert answer is not None and answer.kind == "growth"
    expected = ((Decimal(383285) - Decimal(394328)) / Decimal(394328) * 100).quantize(Decimal("0.0001"))
    assert answer.value == expected
    assert answer.value < 0
    assert answer.unit == "%" and answer.scale == ""
    assert answer.formula == "(383,285 \u2212 394,328) / 394,328 \u00d7 100"
    assert operand_cells(answer) == [
        ("Net sales", "Fiscal 2023", Decimal(383285)),
        ("Net sales", "Fiscal 2022", Decimal(394328)),
    ]
    assert {o.table_ref for o in answer.operands} == {"chunk-is-1"}


def test_difference_is_later_minus_earlier_whatever_the_column_order(statement):
    answer = answer_from_tables("What was the change in operating income between 2022 and 2023?", statement)

    assert answer is not None and answer.kind == "difference"
    assert answer.value == Decimal(114301) - Decimal(119437)
    assert answer.formula == "114,301 \u2212 119,437"
    assert answer.scale == "million" and answer.unit == ""


def test_sign_from_parentheses_is_kept_through_the_arithmetic(statement):
    answer = answer_from_tables("What was the change in other income (expense), net from FY2022 to FY2023?", statement)

    assert answer is not None
    assert [o.value for o in answer.operands] == [Decimal(-565), Decimal(-334)]
    assert answer.value == Decimal(-231)
    assert answer.formula == "(\u2212565) \u2212 (\u2212334)"


def test_margin_is_computed_from_profit_and_revenue_when_no_margin_row(statement):
    answer = answer_from_tables("What was the gross margin in fiscal 2023?", statement)

    assert answer is not None and answer.kind == "ratio"
    assert answer.value == (Decimal(169148) / Decimal(383285) * 100).quantize(Decimal("0.0001"))
    assert answer.unit == "%"
    assert operand_cells(answer) == [
        ("Gross profit", "Fiscal 2023", Decimal(169148)),
        ("Net sales", "Fiscal 2023", Decimal(383285)),
    ]
    assert answer.formula == "169,148 / 383,285 \u00d7 100"


def test_ratio_of_two_named_line_items(statement):
    answer = answer_from_tables("What is the ratio of operating income to gross profit in FY2022?", statement)

    assert answer is not None
    assert answer.value == (Decimal(119437) / Decimal(170782)).quantize(Decimal("0.0001"))
    assert answer.unit == "" and answer.scale == ""
    assert [o.row_label for o in answer.operands] == ["Operating income", "Gross profit"]


def test_sum_across_periods_keeps_the_table_scale(statement):
    answer = answer_from_tables("What is the sum of net sales in FY2022 and FY2023?", statement)

    assert answer is not None and answer.kind == "sum"
    assert answer.value == Decimal(394328 + 383285)
    assert answer.scale == "million"
    assert answer.formula == "394,328 + 383,285" or answer.formula == "383,285 + 394,328"
    assert len(answer.operands) == 2


def test_average_over_all_printed_periods_when_none_named(statement):
    answer = answer_from_tables("What was the average operating income?", statement)

    assert answer is not None and answer.kind == "average"
    assert answer.value == (Decimal(119437) + Decimal(114301)) / 2
    assert answer.formula.endswith("/ 2")


def test_thousands_scale_follows_the_table():
    tables = [table_from_json(income_statement(scale="thousand"), ref="t")]
    answer = answer_from_tables("What was the operating income in FY2023?", tables)

    assert answer is not None and answer.kind == "lookup"
    assert (answer.value, answer.scale) == (Decimal(114301), "thousand")


def test_period_matching_picks_the_named_fiscal_year(statement):
    fy2022 = answer_from_tables("What were net sales in FY2022?", statement)
    fy2023 = answer_from_tables("What were net sales in fiscal 2023?", statement)

    assert fy2022 is not None and fy2023 is not None
    assert fy2022.value == Decimal(394328) and fy2022.operands[0].column_header == "Fiscal 2022"
    assert fy2023.value == Decimal(383285) and fy2023.operands[0].column_header == "Fiscal 2023"


def test_percent_cells_keep_their_unit_and_drop_the_money_scale(statement):
    answer = answer_from_tables("What was the change in the effective tax rate from FY2022 to FY2023?", statement)

    assert answer is not None
    assert answer.value == Decimal("-1.5") and answer.unit == "%" and answer.scale == ""


def test_ambiguous_rows_abstain():
    data = {
        "title": "",
        "columns": [{"header": "2023", "period": "FY2023"}, {"header": "2022", "period": "FY2022"}],
        "rows": [
            {"label": "Domestic", "cells": []},
            {"label": "Other", "cells": [{"col": 0, "text": "44.1"}, {"col": 1, "text": "56.7"}]},
            {"label": "International", "cells": []},
            {"label": "Other", "cells": [{"col": 0, "text": "12.0"}, {"col": 1, "text": "9.5"}]},
        ],
        "scale": "million",
    }
    tables = [table_from_json(data, ref="t")]

    assert answer_from_tables("What was the change in Other from 2022 to 2023?", tables) is None
    # Naming the section makes the choice clear.
    named = answer_from_tables("What was the change in International Other from 2022 to 2023?", tables)
    assert named is not None and named.value == Decimal("2.5")


def test_missing_period_or_metric_abstains(statement):
    assert answer_from_tables("What was the percentage change in net sales from 2020 to 2021?", statement) is None
    assert answer_from_tables("What was the change in goodwill from FY2022 to FY2023?", statement) is None
    assert answer_from_tables("What were net sales?", statement) is None  # two years, none named
    assert answer_from_tables("Why did net sales decline in FY2023?", statement) is None


def test_question_understanding_kinds():
    assert understand("What is the percentage change in revenue from 2018 to 2019?").kind == "growth"
    assert understand("What was the absolute percentage change in the tax rate between 2018 and 2019?").kind == (
        "difference"
    )
    assert understand("What is the average revenue for 2017 to 2019?").periods[-1].year == 2017
    assert len(understand("What is the average revenue for 2017 to 2019?").periods) == 3
    assert understand("What is the sum of revenue in 2018 and 2019?").kind == "sum"
    assert understand("What were revenue in 2018 and 2019 respectively?").kind == "lookup"
    assert understand("In which year was revenue the largest?").kind == "compare"


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("$(5,860)", Decimal(-5860), "$"),
        ("(14.3)%", Decimal("-14.3"), "%"),
        ("$  1,452.4", Decimal("1452.4"), "$"),
        ("(119 )", Decimal(-119), ""),
        ("\u2014", Decimal(0), ""),
    ],
)
def test_cell_numbers_keep_sign_and_unit(text, value, unit):
    parsed = parse_number(text)
    assert parsed is not None and (parsed.value, parsed.unit) == (value, unit)


def test_non_figures_are_not_numbers():
    assert parse_number("2019 vs 2018") is None
    assert parse_number("Total sales") is None


@pytest.mark.parametrize(
    ("caption", "scale"),
    [("(In millions)", "million"), ("€m", "million"), ("USD '000", "thousand"), ("$ in billions", "billion"),
     ("Revenue rose by $4 million", ""), ("Cash raised of $64,000", "")],
)  # fmt: skip
def test_declared_scale(caption, scale):
    assert detect_scale(caption) == scale


def test_adapter_returns_a_cited_answer_dict_or_none():
    passages = [
        {"chunk_id": "doc-1:text", "text": "Amounts in thousands.", "table": None},
        {"chunk_id": "doc-1:t3", "text": "table", "table": {**income_statement(), "scale": ""}},
    ]
    answer = computed_answer_for_passages("What was the change in gross profit from FY2022 to FY2023?", passages)

    assert answer is not None
    assert answer["value"] == "-1634" and answer["scale"] == "thousand"
    assert answer["formula"] == "169,148 \u2212 170,782"
    assert [(o["table_ref"], o["row_label"], o["column_header"]) for o in answer["operands"]] == [
        ("doc-1:t3", "Gross profit", "Fiscal 2023"),
        ("doc-1:t3", "Gross profit", "Fiscal 2022"),
    ]
    assert computed_answer_for_passages("Who won the 1998 football world cup?", passages) is None
    assert computed_answer_for_passages("What was the change in gross profit?", [passages[0]]) is None


def test_prose_figure_is_found_when_no_table_answers():
    passages = [
        {
            "chunk_id": "doc-2:p4",
            "table": None,
            "text": "Federal and state income taxes of $36.5 million, $2.1 million, and $3.7 million were paid "
            "in fiscal years 2019, 2018, and 2017, respectively. Other taxes were immaterial.",
        }
    ]
    answer = computed_answer_for_passages("What were the federal and state income taxes paid in fiscal 2018?", passages)

    assert answer is not None and answer["kind"] == "lookup"
    assert (answer["value"], answer["unit"], answer["scale"]) == ("2.1", "$", "million")
    assert answer["operands"][0]["table_ref"] == "doc-2:p4"
    # No period named and three figures in the sentence: not guessed.
    assert computed_answer_for_passages("What were the federal and state income taxes paid?", passages) is None


def test_which_years_and_which_row_questions(statement):
    years = answer_from_tables("Which years does the table provide information for?", statement)
    assert years is not None and sorted(years.value) == ["2022", "2023"]

    data = {
        "columns": [{"header": "2023", "period": "FY2023"}],
        "rows": [
            {"label": "Americas", "cells": [{"col": 0, "text": "120"}]},
            {"label": "EMEA", "cells": [{"col": 0, "text": "95"}]},
            {"label": "APAC", "cells": [{"col": 0, "text": "130"}]},
            {"label": "Total", "cells": [{"col": 0, "text": "345"}]},
        ],
        "scale": "million",
    }
    tables = [table_from_json(data, ref="seg")]
    largest = answer_from_tables("Which region had the highest net sales in 2023?", tables)
    smallest = answer_from_tables("Which region had the lowest net sales in 2023?", tables)
    assert largest is not None and largest.value == "APAC"  # the Total row is not a region
    assert smallest is not None and smallest.value == "EMEA"


def test_threshold_questions_count_or_list_the_periods(statement):
    # Net sales: 394,328 (FY2022) and 383,285 (FY2023), in millions; the bound is converted to the table's scale.
    how_many = answer_from_tables("How many years did net sales exceed $390,000 million?", statement)
    which = answer_from_tables("In which year were net sales less than $390 billion?", statement)

    assert how_many is not None and how_many.kind == "count" and how_many.value == Decimal(1)
    assert which is not None and which.value == ["2023"]
    assert len(which.operands) == 2  # both years were read to decide


# ----------------------------------------------------------------------------------------------
# The reader: spans of prose and lenient cell picks, below the figure rules.
# ----------------------------------------------------------------------------------------------
PENSION_NOTE = (
    "For domestic plans, the discount rate was determined by comparison against the FTSE pension liability index "
    "for AA rated corporate instruments. The Company monitors other indices to assure that the pension obligations "
    "are fairly reported. The international discount rates were determined by comparison against country specific "
    "AA corporate indices, adjusted for duration of the obligation. Total unrecognized compensation cost at "
    "December 31, 2019 was $1.2 billion and is expected to be recognized over a weighted-average period of "
    "approximately 2.5 years. In December 2019, we granted 375,000 PSUs with market targets. In February 2016, "
    "we granted 547,000 PSUs. The effective tax rate decreased primarily due to a non-recurring tax benefit of "
    "$2.2 billion. Trading in our shares commenced on March 29, 1988."
)


def test_reader_picks_the_sentence_and_the_clause_after_the_matched_words():
    from pipelines.figures.reader import read_span

    span = read_span("How is the discount rate for domestic plans determined?", [("note-7", PENSION_NOTE)])

    assert span is not None and span.ref == "note-7" and span.kind == "clause"
    assert span.sentence.startswith("For domestic plans")
    assert span.text == "by comparison against the FTSE pension liability index for AA rated corporate instruments"


@pytest.mark.parametrize(
    ("question", "expected", "kind"),
    [
        ("How many PSUs were granted in December 2019?", "375,000", "figure"),
        ("How many PSUs were granted in February 2016?", "547,000", "figure"),
        ("Over what duration will the unrecognized compensation cost be recognized?", "2.5 years", "duration"),
        ("When did trading commence?", "March 29, 1988", "date"),
    ],
)
def test_reader_extracts_the_figure_date_or_duration_asked_for(question, expected, kind):
    from pipelines.figures.reader import read_span

    span = read_span(question, [("note-7", PENSION_NOTE)])

    assert span is not None and (span.text, span.kind) == (expected, kind)


def test_reader_answers_why_with_the_reason_clause():
    from pipelines.figures.reader import read_span

    span = read_span("Why did the effective tax rate decrease?", [("note-7", PENSION_NOTE)])

    assert span is not None and span.text.startswith("primarily due to a non-recurring tax benefit")


def test_reader_lines_up_respective_figures_with_the_asked_periods():
    from pipelines.figures.reader import read_span

    text = (
        "Federal and state income taxes of $36.5 million, $2.1 million, and $3.7 million were paid in fiscal "
        "years 2019, 2018, and 2017, respectively."
    )
    one = read_span("What were the federal and state income taxes paid in fiscal 2017?", [("p", text)])
    both = read_span("What were the federal and state income taxes paid in 2019 and 2018?", [("p", text)])

    assert one is not None and one.text == "$3.7 million"
    assert both is not None and both.text == ["$36.5 million", "$2.1 million"]


def test_reader_confidence_gates_unrelated_questions():
    from pipelines.figures.reader import STRICT_CONFIDENCE, read_span

    assert read_span("Who won the 1998 football world cup?", [("note-7", PENSION_NOTE)]) is None
    weak = read_span("What was the discount rate for the Asian retail segment?", [("note-7", PENSION_NOTE)])
    assert weak is not None and weak.confidence < STRICT_CONFIDENCE
    assert (
        read_span(
            "What was the discount rate for the Asian retail segment?", [("note-7", PENSION_NOTE)], STRICT_CONFIDENCE
        )
        is None
    )


def test_cell_reader_and_row_label_lists(statement):
    from pipelines.figures.reader import cell_answer, read_cell, read_row_labels

    pick = read_cell("What was the other income (expense), net in fiscal 2022?", statement)
    answer = cell_answer(pick)
    assert answer.kind == "lookup" and answer.value == Decimal(-334) and answer.scale == "million"
    assert (answer.operands[0].row_label, answer.operands[0].column_header) == (
        "Other income (expense), net",
        "Fiscal 2022",
    )
    both = cell_answer(read_cell("What was the other income (expense), net in fiscal 2023 and 2022?", statement))
    assert both.value == [Decimal(-565), Decimal(-334)]

    labels = read_row_labels("What are the items listed in the table?", statement)
    assert labels is not None and "Net sales" in labels and "Gross profit" in labels
    assert read_row_labels("What was the gross profit in 2023?", statement) is None


def test_ask_path_is_strict_and_the_bench_setting_is_relaxed(statement):
    from pipelines.figures import RELAXED_CONFIDENCE, answer_question

    prose = [("note-7", PENSION_NOTE)]
    question = "What is the discount rate based on for the Asian retail segment?"
    assert answer_question(question, [], prose) is None  # strict by default
    relaxed = answer_question(question, [], prose, RELAXED_CONFIDENCE)
    assert relaxed is not None and relaxed.kind == "span" and relaxed.source_ref == "note-7"
    assert answer_question(question, [], prose, None) is None  # the figure rules alone
    # A computation the rules cannot do is not answered with a read-off value on the ask path.
    assert answer_question("What was the percentage change in headcount?", statement, prose) is None


def test_reader_picks_the_figure_its_words_name_and_skips_the_bracketed_comparison():
    from pipelines.figures.reader import read_span

    allowances = (
        "As of December 31, 2019, the Company has a valuation allowance of $191.7 million against its U.S. deferred "
        "tax assets and a valuation allowance of $52.9 million against certain of its foreign deferred tax assets."
    )
    expense = (
        "A compensation expense of $1,792,000 (compensation expense reduction of $181,000 in 2018) was recorded for "
        "the year ended August 31, 2019 related to this plan."
    )
    foreign = read_span(
        "What is the valuation allowance against certain of its foreign deferred tax assets?", [("p", allowances)]
    )
    this_year = read_span("What was the compensation expense in 2019?", [("p", expense)])
    dividend = read_span(
        "What is the final dividend per share?", [("p", "We declared a final dividend of AU 18 cents per share.")]
    )

    assert foreign is not None and foreign.text == "$52.9 million"
    assert this_year is not None and this_year.text == "$1,792,000"
    assert dividend is not None and dividend.text == "AU 18 cents"


def test_yes_no_questions_and_stated_nils_answer_with_the_sentence():
    from pipelines.figures.reader import read_span

    text = "There was no material bad debt expense in 2019, 2018 and 2017. Revenue grew 4%."
    span = read_span("Was there a material bad debt expense in 2019?", [("p", text)])

    assert span is not None and span.kind == "sentence"
    assert span.text == "There was no material bad debt expense in 2019, 2018 and 2017"


def test_growth_answers_with_the_printed_change_when_it_agrees():
    table = table_from_json(
        {
            "columns": [{"header": "Q4 2019"}, {"header": "Q4 2018"}, {"header": "% change"}],
            "rows": [
                {
                    "label": "Bell Wireless operating revenues",
                    "cells": [{"col": 0, "text": "2,493"}, {"col": 1, "text": "2,407"}, {"col": 2, "text": "3.6%"}],
                },
                {
                    "label": "Bell Media operating revenues",
                    "cells": [{"col": 0, "text": "879"}, {"col": 1, "text": "850"}, {"col": 2, "text": "9.9%"}],
                },
            ],
            "scale": "million",
        },
        ref="t1",
    )
    printed = answer_from_tables(
        "What is the percentage change in Bell Wireless operating revenues in Q4 2019 to Q4 2018?", [table]
    )
    computed = answer_from_tables(
        "What is the percentage change in Bell Media operating revenues in Q4 2019 to Q4 2018?", [table]
    )

    assert printed is not None and printed.value == Decimal("3.6") and printed.operands[0].column_header == "% change"
    assert "2,493" in printed.formula  # the computation stays as the check
    # 3.41% computed does not agree with a printed 9.9%: the computed figure is kept.
    assert computed is not None and computed.kind == "growth" and computed.value == Decimal("3.4118")
