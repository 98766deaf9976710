"""Reading automation files: UTF-8 only, and a clear place for anything else."""

import pytest

from kognitos_books.language import LanguageError, parse, read_automation


def test_reads_utf8(tmp_path):
    path = tmp_path / "pay.kog"
    path.write_text('get a customer whose name is "Zoë" # ünïcode\n', encoding="utf-8")
    text = read_automation(path)
    assert parse(text).commands[0].whose.value.value == "Zoë"
    assert read_automation(str(path)) == text


def test_a_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "bom.kog"
    path.write_bytes(b"\xef\xbb\xbfsend the invoice\n")
    assert read_automation(path) == "send the invoice\n"


def test_a_byte_that_is_not_utf8_is_placed(tmp_path):
    path = tmp_path / "latin1.kog"
    path.write_bytes('send the invoice\nget a customer whose name is "Zoë"\n'.encode("latin-1"))
    with pytest.raises(LanguageError) as caught:
        read_automation(path)
    error = caught.value
    assert (error.source_name, error.line, error.column) == (str(path), 2, 33)
    assert error.message == "this file is not UTF-8 text: byte 0xEB cannot be read"
    assert error.hint == "save the file as UTF-8"
    assert error.exit_code == 2
    assert str(error).splitlines()[1:] == [
        '    get a customer whose name is "Zo\ufffd"',
        "                                    ^",
        "    hint: save the file as UTF-8",
    ]


def test_the_column_counts_characters_not_bytes(tmp_path):
    path = tmp_path / "mixed.kog"
    path.write_bytes("# ééé\n# ü".encode() + b"\xff")
    with pytest.raises(LanguageError) as caught:
        read_automation(path)
    assert (caught.value.line, caught.value.column) == (2, 4)


def test_a_nul_byte_means_a_binary_file(tmp_path):
    path = tmp_path / "image.kog"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(LanguageError) as caught:
        read_automation(path)
    error = caught.value
    assert error.message == ("this looks like a binary file, not an automation: it holds a "
                             "NUL byte")
    assert (error.line, error.column) == (3, 1)


def test_utf16_is_refused_with_advice(tmp_path):
    path = tmp_path / "utf16.kog"
    path.write_text("send the invoice\n", encoding="utf-16")
    with pytest.raises(LanguageError) as caught:
        read_automation(path)
    assert caught.value.message == "this file is UTF-16 or UTF-32 text; automations are UTF-8"
    assert caught.value.hint == "save the file as UTF-8"


def test_a_missing_file(tmp_path):
    path = tmp_path / "nowhere.kog"
    with pytest.raises(LanguageError) as caught:
        read_automation(path)
    assert str(caught.value) == (f"{path}: cannot read the automation: No such file or "
                                 "directory\n    hint: check the file name")


def test_a_directory(tmp_path):
    with pytest.raises(LanguageError) as caught:
        read_automation(tmp_path)
    assert caught.value.message.startswith("cannot read the automation: ")
