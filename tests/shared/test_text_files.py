"""The text-file rules every reader shares: UTF-8 error positions, line splitting, label lists."""
import io

import pytest

from textattack_xmtc.shared.text_files import TextFileProblem, label_list_lines, universal_lines, utf8_error_position


@pytest.mark.parametrize("data", [b"\xe9", b"ab\xe9", b"a\nb\n\xff", b"one\ntwo\nthr\xc3e\n", b"x\n\n\n  \xe9"])
def test_utf8_error_position_is_the_line_and_byte_of_the_bad_byte(data):
    with pytest.raises(UnicodeDecodeError) as caught:
        data.decode("utf-8")
    line, column = utf8_error_position(data, caught.value.start)
    lines = data.split(b"\n")
    assert lines[line - 1][column - 1:column] == data[caught.value.start:caught.value.start + 1]
    assert line == data[:caught.value.start].count(b"\n") + 1


@pytest.mark.parametrize("text", ["a\nb\n", "a\r\nb", "a\rb\r", "a\x85b\u2028c\n", "", "\n", "a\n\nb", "a\x0cb\x1dc"])
def test_universal_lines_split_as_a_text_mode_file_iterates(text):
    expected = [line.rstrip("\r\n") for line in io.StringIO(text, newline=None)]
    assert universal_lines(text) == expected


def test_a_label_list_is_one_label_per_line_stripped_with_trailing_blanks_dropped():
    assert label_list_lines("crude\r\n  grain \ncaf\u00e9\x85oil\n\n \n") == ["crude", "grain", "caf\u00e9\x85oil"]
    assert label_list_lines("") == []


@pytest.mark.parametrize("text, line, problem", [
    ("crude\n\ngrain\n", 2, "blank line inside the label list"),
    ("crude\n \t\ngrain", 2, "blank line inside the label list"),
    ("crude\ngrain\ncrude\n", 3, "label 'crude' repeats line 1"),
    ("a\nb\nc\n b\n", 4, "label 'b' repeats line 2"),
])
def test_a_label_list_problem_names_its_line(text, line, problem):
    with pytest.raises(TextFileProblem) as caught:
        label_list_lines(text)
    assert caught.value.line == line
    assert caught.value.problem.startswith(problem)
    assert str(caught.value).startswith(f"line {line}: {problem}")
