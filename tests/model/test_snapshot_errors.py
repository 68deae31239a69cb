"""Issue 14, the snapshot side: a lead table that seeds a run is read value by value, and what
cannot be true is refused with one line naming the file, the line and the column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_snapshot import empty

import simfunnel
from simfunnel.model import MAX_ATTEMPTS


def scenario() -> simfunnel.Scenario:
    return empty(horizon="2 weeks")


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "start.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


HEADER = "lead_id,source,end_state,arrived,valid_opportunity,attempts,score\n"
# start_date of TINY: 2026-01-05. Each case: the file's text, then the pieces of the one line.
BAD: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "an empty file": ("", ("empty file",)),
    "header only": (HEADER, ("header only, no data rows",)),
    "binary": (b"\x00\x01\x02" * 30, ("binary data",)),
    "not UTF-8": (
        HEADER.encode() + "1,one,working,2025-12-01,,1,é\n".encode("cp1252"),
        ("not UTF-8 text (byte 0xe9 on line 2)",),
    ),
    "a number that is no Excel date": (
        HEADER + "1,one,working,5,,1,50\n",
        ("line 2: arrived: a number, not a date", "Excel serial days", "(got '5')"),
    ),
    "one bad date among good ones (the first)": (
        HEADER + "1,one,working,yesterday,,1,50\n2,one,working,2025-12-01,,1,50\n"
        "3,one,working,2025-12-02 10:30,,1,50\n",
        ("line 2: arrived: not a date and time (got 'yesterday')",),
    ),
    "an ambiguous date": (
        HEADER + "1,one,working,03/04/2025,,1,50\n",
        ("line 2: arrived: ambiguous date: day-first or month-first?",),
    ),
    "duplicate lead ids": (
        HEADER + "".join(f"{i % 4},one,working,2025-12-01,,1,50\n" for i in range(9)),
        ("lead_id: duplicate ids", "'0' on lines 2, 6, 10", "'1' on lines 3, 7", "and 1 more"),
    ),
    "a huge attempt count": (
        HEADER + "1,one,working,2025-12-01,,100000000000000000000000,50\n",
        (f"line 2: attempts: must be at most {MAX_ATTEMPTS}",),
    ),
    "an infinite attempt count": (
        HEADER + "1,one,working,2025-12-01,,inf,50\n",
        ("line 2: attempts: not a finite number",),
    ),
    "an infinite score": (
        HEADER + "1,one,working,2025-12-01,,1,inf\n",
        ("line 2: score: not a finite number",),
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_snapshot_is_one_line_naming_file_line_and_column(case, tmp_path) -> None:
    text, expected = BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(simfunnel.ScenarioError) as caught:
        simfunnel.read_snapshot(path, scenario())
    (line,) = caught.value.problems
    print(f"\n{case}: {line}")
    assert line.startswith(f"{path}: ") and "\n" not in line
    for piece in expected:
        assert piece in line, (piece, line)


def test_a_directory_is_named(tmp_path) -> None:
    with pytest.raises(simfunnel.ScenarioError) as caught:
        simfunnel.read_snapshot(tmp_path, scenario())
    (line,) = caught.value.problems
    assert line == f"{tmp_path}: a directory, not a lead table (CSV)"


def test_excel_serial_days_are_dates_not_1970(tmp_path) -> None:
    """46000 is 2025-12-09 in Excel's day count (46000.5: noon), never 46 microseconds past
    1970."""
    path = write(tmp_path, HEADER + "1,one,open_opportunity,46000,46000.5,0,50\n")
    snap = simfunnel.read_snapshot(path, scenario())
    start = pd.Timestamp("2026-01-05")
    assert snap.arrival[0] == (pd.Timestamp("2025-12-09") - start) / pd.Timedelta(hours=1)
    assert snap.valid_at[0] == (pd.Timestamp("2025-12-09 12:00") - start) / pd.Timedelta(hours=1)


def test_dates_are_read_value_by_value(tmp_path) -> None:
    """ISO with and without a time or an offset, and day-first dates the column shows to be
    day-first (a day above 12), in one column: each read, none flagged for the others. An
    offset is dropped and the time written kept (the team's wall clock), as the CRM readers do."""
    rows = [
        "1,one,working,2025-12-01,,1,50",
        "2,one,working,2025-12-01T10:00:00+01:00,,1,50",
        "3,one,working,13/12/2025 10:00,,1,50",
        "4,one,working,14/12/2025,,1,50",
    ]
    snap = simfunnel.read_snapshot(write(tmp_path, HEADER + "\n".join(rows) + "\n"), scenario())
    start = pd.Timestamp("2026-01-05")
    got = sorted(start + pd.to_timedelta(snap.arrival, unit="h"))
    assert [f"{t:%Y-%m-%d %H:%M}" for t in got] == [
        "2025-12-01 00:00",
        "2025-12-01 10:00",
        "2025-12-13 10:00",
        "2025-12-14 00:00",
    ]


def test_a_frame_with_zoned_times_keeps_the_wall_clock_time() -> None:
    """A frame whose times carry a zone reads them as written, not moved to UTC: 09:30 in New
    York is 09:30 at the desk, not 14:30."""
    frame = pd.DataFrame(
        {
            "source": "one",
            "end_state": "working",
            "arrived": pd.to_datetime(["2025-12-01 09:30"]).tz_localize("America/New_York"),
            "attempts": [1],
        }
    )
    snap = simfunnel.read_snapshot(frame, scenario())
    start = pd.Timestamp("2026-01-05")
    assert start + pd.Timedelta(hours=float(snap.arrival[0])) == pd.Timestamp("2025-12-01 09:30")


def test_utf8_with_a_byte_order_mark_and_utf16_read(tmp_path) -> None:
    text = HEADER + "1,one,working,2025-12-01,,2,50\n"
    for encoding in ("utf-8-sig", "utf-16"):
        snap = simfunnel.read_snapshot(write(tmp_path, text.encode(encoding)), scenario())
        assert snap.counts() == {"working": 1} and snap.attempts[0] == 2


def test_a_frame_with_unique_ids_still_reads() -> None:
    frame = pd.DataFrame(
        {
            "lead_id": [1, 2],
            "source": "one",
            "end_state": "working",
            "arrived": pd.to_datetime(["2025-12-01", "2025-12-02"]),
            "attempts": [1, MAX_ATTEMPTS],
        }
    )
    snap = simfunnel.read_snapshot(frame, scenario())
    assert list(snap.attempts) == [1, MAX_ATTEMPTS] and np.isfinite(snap.arrival).all()
