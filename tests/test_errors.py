"""The package's error types: a command-line exit prints one line and ends with status 2."""
import pytest

from textattack_xmtc.errors import CommandLineExit


def test_a_command_line_exit_prints_a_multi_line_message_as_one_line_with_status_2(capsys):
    message = "textattack-xmtc: error: cannot load 'x'. Looked for:\n  - a built-in model\n  - an AttentionXML dir\n"
    with pytest.raises(SystemExit) as stop:
        raise CommandLineExit(message)
    one_line = "textattack-xmtc: error: cannot load 'x'. Looked for: - a built-in model - an AttentionXML dir"
    assert (stop.value.code, str(stop.value)) == (2, one_line)
    assert capsys.readouterr().err == one_line + "\n"
