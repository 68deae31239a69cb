"""Regression tests for the readers on damaged real-shaped exports (the audit of `simfunnel
fit`): numbers with a decimal comma or a currency, dates with a UTC offset, stray dates, a
mapping naming a column the file lacks, won flags written 1.0/0.0, line numbers after blank
lines, a typed tab separator and an encoding that garbles UTF-8. Each on a few lines of CSV
written here, so the file runs in a second or two."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from simfunnel.data import (
    CalibrationError,
    check_exports,
    parse_timestamp,
    read_calls,
    read_leads,
    read_opportunities,
)
from simfunnel.data.numbers import decimal_mark, parse_numbers

HEADER = "Record ID;Create Date;HubSpot Score;Amount"


def write(tmp_path: Path, text: str, name: str = "leads.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def report_of(table) -> pd.DataFrame:
    """The report without the notes on columns the small file lacks."""
    r = table.report
    return r[~r["problem"].str.startswith("no column for")]


# --------------------------------------------------------------------------- 1: decimal comma


def test_a_decimal_comma_is_read_as_one_and_said(tmp_path) -> None:
    rows = ["1;2026-01-05 09:00;55,3;10921,37", "2;2026-01-06 09:00;48,0;10.921,37"]
    table = read_leads(write(tmp_path, "\n".join([HEADER, *rows]) + "\n"))
    assert table.data["score"].tolist() == [55.3, 48.0]
    assert table.data["amount"].tolist() == [10921.37, 10921.37]
    notes = report_of(table)
    said = notes[notes["problem"].str.contains("decimal comma")]
    assert len(said) == 1 and said["action"].iloc[0] == "note"


def test_each_number_column_keeps_its_own_mark(tmp_path) -> None:
    # An export that writes scores raw (72.5) and amounts in the user's locale (13.747,05).
    text = 'Record ID,Create Date,HubSpot Score,Amount\n1,2026-01-05,72.5,"13.747,05 €"\n'
    table = read_leads(write(tmp_path, text))
    assert table.data["score"].iloc[0] == 72.5 and table.data["amount"].iloc[0] == 13747.05


def test_numbers_that_could_be_either_mark_are_refused_in_a_semicolon_file(tmp_path) -> None:
    path = write(tmp_path, f"{HEADER}\n1;2026-01-05;10,921;1.500\n2;2026-01-06;12,250;2.750\n")
    with pytest.raises(CalibrationError, match=r"--decimal") as err:
        read_leads(path)
    assert "'10,921'" in str(err.value) and str(path) in str(err.value)
    comma, point = read_leads(path, decimal=",").data, read_leads(path, decimal=".").data
    assert comma["score"].tolist() == [10.921, 12.25] and comma["amount"].tolist() == [1500, 2750]
    assert point["score"].tolist() == [10921, 12250] and point["amount"].tolist() == [1.5, 2.75]


@pytest.mark.parametrize(
    "command",
    [
        ["outlook"],
        ["backtest", "--cutoff", "2026-01-06", "--horizon", "4"],
        ["backtest", "--every", "month", "--horizon", "3m"],
    ],
    ids=["outlook", "backtest", "rolling backtest"],
)
def test_every_command_that_reads_exports_takes_decimal(tmp_path, command) -> None:
    """outlook and backtest read the same exports as fit: an undecidable decimal mark asks
    for --decimal, and --decimal gets past it (to the next refusal of a two-lead file)."""
    path = write(tmp_path, f"{HEADER}\n1;2026-01-05;10,921;1.500\n2;2026-01-06;12,250;2.750\n")
    code, _, err = run_cli([*command, "--leads", str(path)])
    assert code == 2 and "--decimal . or --decimal ," in err
    code, _, err = run_cli([*command, "--leads", str(path), "--decimal", ","])
    assert code == 2 and "decimal" not in err and err.strip()


def test_a_comma_file_keeps_reading_commas_as_thousands(tmp_path) -> None:
    text = 'Record ID,Create Date,Amount\n1,2026-01-05,"10,921"\n2,2026-01-06,"1,234,567.5"\n'
    assert read_leads(write(tmp_path, text)).data["amount"].tolist() == [10921.0, 1234567.5]


def test_a_column_with_both_marks_is_refused() -> None:
    values = pd.Series(["55,3", "48,1", "12,7", "60.2", "70.4", "71.9"])
    with pytest.raises(CalibrationError, match=r"both a decimal point .* and a decimal comma"):
        decimal_mark({"HubSpot Score": values}, None, ";", "leads.csv")


def test_a_stray_value_with_the_other_mark_is_blanked_not_misread(tmp_path) -> None:
    rows = [f"{i};2026-01-05;{50 + i}.5;" for i in range(1, 40)] + ["40;2026-01-05;1,5;"]
    table = read_leads(write(tmp_path, "\n".join([HEADER, *rows]) + "\n"))
    assert np.isnan(table.data["score"].iloc[-1])
    bad = report_of(table)
    assert (bad["problem"] == "not a number").sum() == 1


# --------------------------------------------------------------------------- 2: currency


@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("$10,921.37", ".", 10921.37),
        ("10.921,37 €", ",", 10921.37),
        ("USD 1,200.50", ".", 1200.5),
        ("-$5", ".", -5.0),
        ("£ 1 250,5", ",", 1250.5),
        ("₹1,03,680.60", ".", 103680.6),  # lakhs: read, not blanked (they were the largest)
        ("12,34,567", ".", 1234567.0),
    ],
)
def test_amounts_with_a_currency_are_read(text: str, decimal: str, value: float) -> None:
    assert parse_numbers(pd.Series([text]), decimal, currency=True).iloc[0] == value


def test_currency_amounts_in_a_file(tmp_path) -> None:
    text = 'Record ID,Create Date,Amount\n1,2026-01-05,"$10,921.37"\n2,2026-01-06,$250\n'
    table = read_leads(write(tmp_path, text))
    assert table.data["amount"].tolist() == [10921.37, 250.0] and report_of(table).empty


# --------------------------------------------------------------------------- 3: UTC offsets


def test_utc_offsets_keep_the_local_time_in_every_table(tmp_path) -> None:
    leads = write(
        tmp_path,
        "Record ID,Create Date\n1,2026-03-02T09:30:00-05:00\n2,2026-03-02T09:30:00Z\n"
        "3,2026-03-02 09:30:00 UTC\n4,2026-03-02 09:30\n",
    )
    table = read_leads(leads)
    assert table.data["created"].dt.strftime("%d %H:%M").tolist() == ["02 09:30"] * 4
    note = table.report[table.report["problem"].str.contains("UTC offset")]
    assert len(note) == 1 and "3 dates" in note["problem"].iloc[0]
    calls = write(
        tmp_path,
        "Associated Contact ID,Activity Date,Call Outcome\n1,2026-03-02T23:30:00-05:00,busy\n",
        "calls.csv",
    )
    # Converted to UTC this call would move to the next day, 04:30.
    assert read_calls(calls).data["timestamp"].iloc[0] == pd.Timestamp("2026-03-02 23:30")


def test_a_date_option_with_an_offset_keeps_its_local_time() -> None:
    """An --as-of or --cutoff written with an offset means the same wall clock as the files:
    converted to UTC, 23:30 in New York would cut the next day's leads in."""
    assert parse_timestamp("2026-03-02T23:30:00-05:00", "as_of") == pd.Timestamp("2026-03-02 23:30")


# --------------------------------------------------------------------------- 4: stray dates


def leads_text(dates: list[str]) -> str:
    return "Record ID,Create Date\n" + "".join(f"{i},{d}\n" for i, d in enumerate(dates))


def daily(n: int, start: str = "2026-01-05") -> list[str]:
    return [f"{d:%Y-%m-%d} 10:00" for d in pd.date_range(start, periods=n, freq="D")]


def test_one_late_typo_is_excluded_and_warned(tmp_path) -> None:
    dates = daily(120)
    dates[7] = "2027-03-01 10:00"  # 2026 typed as 2027: months after the rest
    lt, _, _, as_of = check_exports(read_leads(write(tmp_path, leads_text(dates))))
    assert as_of == pd.Timestamp(dates[-1])
    report = lt.report
    excluded = report[report["action"] == "excluded"]
    assert excluded["line"].tolist() == [9] and excluded["problem"].str.startswith("stray").all()
    warned = report[report["action"] == "warning"]
    assert len(warned) == 1 and "line 9" in warned["problem"].iloc[0]


def test_one_early_lead_is_a_stray_too(tmp_path) -> None:
    dates = ["2025-03-01 10:00", *daily(120)]
    lt, _, _, _ = check_exports(read_leads(write(tmp_path, leads_text(dates))))
    assert lt.data["created"].min() == pd.Timestamp("2026-01-05 10:00")


def test_sparse_data_has_no_strays(tmp_path) -> None:
    # A lead every two weeks or so, then one ten weeks later: a slow spell, not a typo (the
    # gaps of sparse data are long; a stray stands out against the longest of them).
    gaps = np.random.default_rng(0).exponential(14, 40)
    when = pd.Timestamp("2026-01-05") + pd.to_timedelta(np.cumsum(gaps), unit="D")
    dates = [f"{d:%Y-%m-%d %H:%M}" for d in when]
    dates.append(f"{when[-1] + pd.Timedelta(weeks=10):%Y-%m-%d %H:%M}")
    lt, _, _, _ = check_exports(read_leads(write(tmp_path, leads_text(dates))))
    assert len(lt.data) == 41 and report_of(lt).empty


# --------------------------------------------------------------------------- 6, 7


def test_won_flags_written_as_numbers_or_words(tmp_path) -> None:
    text = (
        "Deal ID,Create Date,Close Date,Is Closed Won\n"
        "a,2026-01-05,2026-02-05,1.0\nb,2026-01-05,2026-02-05,0.0\nc,2026-01-05,2026-02-05,yes\n"
        "d,2026-01-05,2026-02-05,FALSE\ne,2026-01-05,,\n"
    )
    table = read_opportunities(write(tmp_path, text, "opportunities.csv"))
    assert table.data["won"].tolist() == [True, False, True, False, pd.NA]
    assert not table.report["problem"].str.contains("not understood").any()


def test_deal_stages_are_read_by_their_words(tmp_path) -> None:
    """A stage says lost before it says won ('Closed - Not Won' names 'won' too); 'won' and
    'lost' count as words only ('Wonderful Prospects' is neither)."""
    stages = [
        ("Closed Won", True),
        ("closed_won", True),
        ("ClosedWon", True),
        ("Closed - Not Won", False),
        ("Closed Lost - Won't proceed", False),
        ("Non-won", False),
        ("Closed Lost", False),
        ("Wonderful Prospects", pd.NA),
        ("Engaging", pd.NA),
    ]
    text = "Deal ID,Create Date,Deal Stage\n" + "".join(
        f"{i},2026-01-05,{s}\n" for i, (s, _) in enumerate(stages)
    )
    table = read_opportunities(write(tmp_path, text, "opportunities.csv"))
    assert table.data["won"].tolist() == [w for _, w in stages]


def test_a_mapping_naming_a_missing_column_is_refused(tmp_path) -> None:
    path = write(tmp_path, "Record ID,Create Date,Amount\n1,2026-01-05,10\n")
    with pytest.raises(CalibrationError) as err:
        read_leads(path, mapping={"amount": "Deal Amount"})
    said = str(err.value)
    assert str(path) in said and "'Deal Amount' (amount)" in said and "'Amount'" in said


# --------------------------------------------------------------------------- 9: messages


def test_lines_count_blank_lines_and_quoted_line_breaks(tmp_path) -> None:
    text = (
        "Record ID,Create Date,Original Source\n1,2026-01-05,web\n\n,,\n"
        '2,2026-01-06,"two\nlines"\n\n3,,web\n'
    )
    table = read_leads(write(tmp_path, text))
    lines = table.report.loc[table.report["action"] == "excluded", "line"].tolist()
    assert lines == [4, 4, 8]  # the blank row (id and date), then lead 3's blank date
    assert table.data["line"].tolist() == [2, 5]


def test_a_typed_tab_separator_reads_without_a_pandas_warning(tmp_path) -> None:
    path = write(tmp_path, "Record ID\tCreate Date\n1\t2026-01-05\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for sep in ("\\t", "tab", "\t"):
            assert len(read_leads(path, sep=sep).data) == 1
    with pytest.raises(CalibrationError, match="not one character"):
        read_leads(path, sep=";;")


def test_an_encoding_that_garbles_utf8_is_warned(tmp_path) -> None:
    path = write(tmp_path, "Record ID,Create Date,Original Source\n1,2026-01-05,société\n")
    table = read_leads(path, encoding="cp1252")
    warned = table.report[table.report["action"] == "warning"]
    assert len(warned) == 1 and "'sociÃ©tÃ©'" in warned["problem"].iloc[0]
    latin = write(
        tmp_path,
        "Record ID,Create Date,Original Source\n1,2026-01-05,société\n",
        "latin.csv",
        "cp1252",
    )
    assert report_of(read_leads(latin, encoding="cp1252")).empty  # right: nothing to say


def test_unknown_call_outcomes_are_counted_with_the_known_words(tmp_path) -> None:
    text = "Associated Contact ID,Activity Date,Call Outcome\n" + "".join(
        f"{i},2026-01-05 10:00,{'Talked' if i % 2 else 'busy'}\n" for i in range(10)
    )
    table = read_calls(write(tmp_path, text, "calls.csv"))
    warned = table.report[table.report["action"] == "warning"]["problem"].tolist()
    assert len(warned) == 1
    assert "5 calls with an unknown outcome 'Talked' (5)" in warned[0]
    assert "contact: connected, contact, reached contact" in warned[0]


def test_a_rep_spelled_in_another_case_is_one_rep(tmp_path) -> None:
    """Counted twice, a team looked twice its size in the fit's headcount."""
    rows = ["Jane Doe"] * 3 + ["JANE DOE", "jane  doe", "Al Roe"]
    text = "Associated Contact ID,Activity Date,Call Outcome,Activity Assigned To\n" + "".join(
        f"{i},2026-03-02 10:00,busy,{name}\n" for i, name in enumerate(rows)
    )
    table = read_calls(write(tmp_path, text, "calls.csv"))
    assert table.data["rep"].tolist() == ["Jane Doe"] * 5 + ["Al Roe"]
    (note,) = table.report.loc[table.report["problem"].str.contains("only in case"), "problem"]
    assert note.startswith("2 names differ from another only in case or spacing: read as one")
