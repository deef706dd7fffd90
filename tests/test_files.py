"""The shared file edge for format-tagged store documents (activation stores, probe directories)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hackwatch._files import read_format_doc


class StoreError(ValueError):
    pass


def _read(d: Path) -> dict:
    return read_format_doc(d, "doc.json", "x/1", StoreError, "an x store", "`make-x`")


@pytest.mark.parametrize(("text", "message"), [
    (None, "{d}: not an x store (no doc.json); create one with `make-x`"),
    ("{broken", "{d}/doc.json: not valid JSON (Expecting property name enclosed in double quotes, line 1)"),
    ('{"format": "x/2"}', "{d}/doc.json: field 'format' is 'x/2', expected 'x/1'"),
    ("[1, 2]", "{d}/doc.json: field 'format' is 'list', expected 'x/1'"),
])
def test_bad_documents_name_the_file_and_what_was_expected(tmp_path: Path, text: str | None, message: str):
    if text is not None:
        (tmp_path / "doc.json").write_text(text)
    with pytest.raises(StoreError) as info:
        _read(tmp_path)
    assert str(info.value) == message.format(d=tmp_path)


def test_good_document_is_returned(tmp_path: Path):
    (tmp_path / "doc.json").write_text('{"format": "x/1", "n": 3}')
    assert _read(tmp_path) == {"format": "x/1", "n": 3}


def test_write_rows_follows_the_suffix_whatever_its_case(tmp_path: Path):
    """``check_out_suffix`` accepts ``.PARQUET``; the writer must then write Parquet, not JSONL."""
    import pandas as pd

    from hackwatch._files import check_out_suffix, write_rows

    check_out_suffix(tmp_path / "rows.PARQUET", ValueError)
    write_rows([{"a": 1}, {"a": 2}], tmp_path / "rows.PARQUET")
    assert pd.read_parquet(tmp_path / "rows.PARQUET")["a"].tolist() == [1, 2]
