"""Reading answer sheets: the question list's format and the variations people produce."""

from pathlib import Path

import pytest

from answer_grader.answers import match_entries, parse_sheet, write_template
from answer_grader.errors import SheetError

DATA = Path(__file__).parent / "data"


def test_the_question_list_is_23_unanswered_entries(bank):
    entries = parse_sheet((DATA / "question_list.md").read_text("utf-8"))
    assert [e.number for e in entries] == list(range(1, 24))
    assert not any(e.answered for e in entries)
    assert entries[0].question == "What areLarge Language Models (LLMs)and how do they work?"
    matches = match_entries(entries, bank.questions)
    assert [m.question.number for m in matches] == list(range(1, 24))  # glued words still match


def test_template_round_trip(bank):
    sheet = write_template(bank.select(["1", "4"]))
    entries = parse_sheet(sheet)
    assert [(e.number, e.answered) for e in entries] == [(1, False), (4, False)]
    assert entries[1].question == bank.get("4").text


MESSY = (
    "\ufeff# My sheet\r\n\r\n"
    "### Question 2\r\n"
    "**Describe the architecture of a transformer model that is commonly used in LLMs.**\r\n"
    "**Answer:**\r\n\r\n\r\n"
    "A stack of decoder blocks.\r\n\r\n"
    "- attention\r\n- an MLP\r\n\r\n"
    "```python\r\nx = attn(x)\r\n---\r\nx = mlp(x)\r\n```\r\n\r\n"
    "Second paragraph.\r\n"
    "## Question 3\r\n\r\n"
    "**What are the main differences between LLMs and traditional statistical language models?**\r\n\r\n"
    "**Answer:** n-gram counts versus learned representations.\r\n"
    "---\r\n"
    "This line after the rule is not part of the answer.\r\n"
)


def test_messy_sheet():
    entries = parse_sheet(MESSY)
    assert [e.number for e in entries] == [2, 3]
    two = entries[0].answer
    assert two.startswith("A stack of decoder blocks.")
    assert "- attention\n- an MLP" in two
    assert "```python\nx = attn(x)\n---\nx = mlp(x)\n```" in two  # a rule inside code stays
    assert two.endswith("Second paragraph.")  # no separator: runs to the next heading
    assert entries[1].answer == "n-gram counts versus learned representations."


def test_answer_without_answer_marker():
    entries = parse_sheet("## Question 4\n\n**Attention?**\n\nQueries meet keys.\n")
    assert entries[0].question == "Attention?" and entries[0].answer == "Queries meet keys."


@pytest.mark.parametrize("answer", ["_[To be filled]_", "", "   ", "TBD"])
def test_placeholders_are_unanswered(answer):
    (entry,) = parse_sheet(f"## Question 1\n\n**Q?**\n\n**Answer:** {answer}\n\n---\n")
    assert not entry.answered


def test_matching_by_text_when_numbers_differ(bank):
    sheet = (
        "## Question 1\n\n**What is the RoBERTa model and how does it differ from standard BERT?**"
        "\n\n**Answer:** More data.\n\n"
        "## Question 2\n\n**Something the bank does not have?**\n\n**Answer:** x\n\n"
        "## Question 5\n\n**Answer:** numbered only.\n"
    )
    m = match_entries(parse_sheet(sheet), bank.questions)
    assert m[0].question.id == "roberta" and m[0].how.startswith("text")
    assert m[1].question is None
    assert m[2].question.id == "positional-encodings" and "no question text" in m[2].how


def test_no_question_is_an_error():
    with pytest.raises(SheetError, match="no question found"):
        parse_sheet("# Notes\n\nJust some text, no headings.\n", "notes.md")


def test_a_heading_inside_a_code_block_is_code():
    sheet = (
        "## Question 4\n\n**Q?**\n\n**Answer:** Like this:\n\n```md\n## Question 5\n```\n\n"
        "Done.\n\n---\n"
    )
    (entry,) = parse_sheet(sheet)
    assert entry.answer.endswith("```md\n## Question 5\n```\n\nDone.")


def test_plain_answer_right_under_the_heading():
    (entry,) = parse_sheet("## Question 4\n\nQueries meet keys in a softmax.\n\nMore.\n")
    assert entry.question == "" and entry.answer == "Queries meet keys in a softmax.\n\nMore."
