"""Issue 14, the CRM side: nothing crashes, nothing is silently wrong.

Two tables on a small simulated HubSpot export, each case a change a user made (or a CRM did):

- ``REFUSED``: exports or options that cannot be used. Each raises CalibrationError with one
  line naming the file (or the option) and the column or line, and ``simfunnel fit`` prints that
  line and exits 2: no traceback, no silent exit 0.
- ``REPORTED``: rows that cannot be true. The fit goes on without them (or with the value
  blanked), and the report says where: file, line, column, problem, action.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import KNOWN

import simfunnel
from simfunnel.calibration import MIN_LEADS, CalibrationError, backtest, fit, read_calls, read_leads
from simfunnel.cli import main
from simfunnel.results import write_exports
from simfunnel.scenario import scenario_from_dict

SMALL = copy.deepcopy(KNOWN) | {"horizon": "12 weeks"}
SMALL["sources"] = [
    dict(KNOWN["sources"][0], rate_per_week=40),
    dict(KNOWN["sources"][1], rate_per_week=20),
]
CREATED, SOURCE, SCORE = "Create Date", "Original Source", "HubSpot Score"
MQL = "Became a Marketing Qualified Lead Date"
SQL = "Became a Sales Qualified Lead Date"
WHEN, LEAD, DURATION = "Activity Date", "Associated Contact ID", "Call Duration (seconds)"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    result = simfunnel.simulate(scenario_from_dict(SMALL), seed=3, trace=True)
    out = tmp_path_factory.mktemp("export")
    write_exports(result, out, style="hubspot")
    return out


@pytest.fixture(scope="module")
def good(base):
    """The fit of the unchanged export, to compare with."""
    return fit(base / "leads.csv", base / "calls.csv", base / "opportunities.csv")


def frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def copy_export(base: Path, tmp: Path, **edits: Callable[[pd.DataFrame], Any]) -> dict[str, Path]:
    """The three files copied to ``tmp``, each edited by ``edits[name](frame)`` (in place, or
    returning a new frame, or returning text to write as it is)."""
    paths = {}
    for name in ("leads", "calls", "opportunities"):
        path = tmp / f"{name}.csv"
        if name in edits:
            f = frame(base / f"{name}.csv")
            out = edits[name](f)
            if isinstance(out, str | bytes):
                path.write_bytes(out if isinstance(out, bytes) else out.encode())
            else:
                (f if out is None else out).to_csv(path, index=False)
        else:
            path.write_bytes((base / f"{name}.csv").read_bytes())
        paths[name] = path
    return paths


def fit_export(paths: dict[str, Path], **kw: Any):
    return fit(paths["leads"], paths["calls"], paths["opportunities"], **kw)


def set_rows(column: str, rows: slice | list[int], value: Any) -> Callable[[pd.DataFrame], None]:
    def edit(f: pd.DataFrame) -> None:
        f.loc[f.index[rows], column] = value

    return edit


def dates_as(fmt: str) -> Callable[[pd.DataFrame], None]:
    """Every date column of the lead table rewritten in a strftime format."""

    def edit(f: pd.DataFrame) -> None:
        for c in f.columns:
            if "Date" in c:
                d = pd.to_datetime(f[c].where(f[c] != ""), format="%Y-%m-%d %H:%M")
                f[c] = d.dt.strftime(fmt).fillna("")

    return edit


def mixed_dates(f: pd.DataFrame) -> None:
    """Every other lead's dates written month-first (a file pasted together from two CRMs)."""
    for c in f.columns:
        if "Date" in c:
            d = pd.to_datetime(f[c].where(f[c] != ""), format="%Y-%m-%d %H:%M")
            us = d.dt.strftime("%m/%d/%Y %H:%M").fillna("")
            f.loc[f.index[1::2], c] = us[1::2]


def first_rows(n: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda f: f.head(n)


def header_only(f: pd.DataFrame) -> str:
    return ",".join(f.columns) + "\n"


def days_up_to_12(f: pd.DataFrame) -> pd.DataFrame:
    """Lead dates rewritten day-first, keeping only dates whose day is 12 or less in every
    date column (so month-first reads them all too, differently)."""
    for c in f.columns:
        if "Date" in c:
            d = pd.to_datetime(f[c].where(f[c] != ""), format="%Y-%m-%d %H:%M")
            f = f[d.isna() | (d.dt.day <= 12)]
    dates_as("%d/%m/%Y %H:%M")(f)
    return f


def mapping_file(tmp: Path, text: str, name: str = "map.yaml") -> Path:
    path = tmp / name
    path.write_text(text)
    return path


# Each refused case: (what to run, given base and tmp), then the pieces the one line must hold.
REFUSED: dict[str, tuple[Callable[[Path, Path], Any], tuple[str, ...]]] = {
    "empty file": (
        lambda b, t: fit_export(copy_export(b, t, leads=lambda f: "")),
        ("leads.csv: empty file",),
    ),
    "blank lines only": (
        lambda b, t: fit_export(copy_export(b, t, leads=lambda f: "\n\n  \n")),
        ("leads.csv: empty file",),
    ),
    "header-only leads": (
        lambda b, t: fit_export(copy_export(b, t, leads=header_only)),
        ("leads.csv: header only", "'Record ID'"),
    ),
    "header-only calls": (
        lambda b, t: fit_export(copy_export(b, t, calls=header_only)),
        ("calls.csv: header only",),
    ),
    "a directory": (lambda b, t: fit(t), ("a directory, not a CSV file",)),
    "no such file": (lambda b, t: fit(t / "nope.csv"), ("nope.csv: no such file",)),
    "binary file": (
        lambda b, t: fit_export(copy_export(b, t, leads=lambda f: b"\x00\x01\x02binary" * 50)),
        ("leads.csv: binary data", "line 1"),
    ),
    "an Excel workbook": (
        lambda b, t: fit_export(copy_export(b, t, leads=lambda f: b"PK\x03\x04" + b"x" * 99)),
        ("leads.csv: a zip archive (an .xlsx workbook?)", "save it as CSV"),
    ),
    "Windows-1252 text, not stated": (
        lambda b, t: fit_export(
            copy_export(
                b,
                t,
                leads=lambda f: (
                    header_only(f).encode()
                    + "1,2026-01-05 09:00,Événement,50,,,,,,,nurture\n".encode("cp1252")
                ),
            )
        ),
        ("leads.csv: not UTF-8 text (byte 0xc9 on line 2)", "encoding="),
    ),
    "UTF-16 without a byte-order mark": (
        lambda b, t: fit_export(
            copy_export(b, t, leads=lambda f: f.to_csv(index=False).encode("utf-16-le"))
        ),
        ("leads.csv: looks like UTF-16", "encoding='utf-16-le'"),
    ),
    "a ragged CSV": (
        lambda b, t: fit_export(copy_export(b, t, leads=lambda f: header_only(f) + '1,"x\n')),
        ("leads.csv: not a readable CSV",),
    ),
    "a ;-separated file read with sep=','": (
        lambda b, t: fit_export(
            copy_export(b, t, leads=lambda f: f.to_csv(index=False, sep=";")), sep=","
        ),
        ("leads.csv: missing column 'Record ID'", "is the separator ';'? state sep="),
    ),
    "!!python tag in the mapping file": (
        lambda b, t: fit(
            b / "leads.csv",
            mapping=mapping_file(
                t, "leads:\n  created: !!python/object/apply:os.system ['echo hi']\n"
            ),
        ),
        ("map.yaml: line 2:", "not a plain YAML mapping", "without tags"),
    ),
    "broken YAML mapping": (
        lambda b, t: fit(b / "leads.csv", mapping=mapping_file(t, "leads: [created: x\n")),
        ("map.yaml:", "not a plain YAML mapping"),
    ),
    "broken JSON mapping": (
        lambda b, t: fit(b / "leads.csv", mapping=mapping_file(t, '{"leads": ', "map.json")),
        ("map.json: line 1: not valid JSON",),
    ),
    "a mapping to a list": (
        lambda b, t: fit(b / "leads.csv", mapping={"created": ["a", "b"]}),
        ("mapping for leads: created must name one column",),
    ),
    "--date-format %Q": (
        lambda b, t: fit(b / "leads.csv", date_format="%Q"),
        ("leads.csv: date format '%Q' is not a strftime pattern",),
    ),
    "a date format that reads few rows": (
        lambda b, t: fit(b / "leads.csv", date_format="%d/%m/%Y"),
        ("leads.csv: column 'Create Date':", "do not read as %d/%m/%Y", "--date-format"),
    ),
    "--as-of yesterday": (
        lambda b, t: fit(b / "leads.csv", as_of="yesterday"),
        ("as_of 'yesterday' is not a date",),
    ),
    "--as-of in 2099": (
        lambda b, t: fit(b / "leads.csv", as_of="2099-01-01"),
        ("as_of 2099-01-01 is more than two years after today",),
    ),
    "--as-of before every lead": (
        lambda b, t: fit(b / "leads.csv", as_of="2020-01-01"),
        ("leads.csv: no lead created on or before the as-of date 2020-01-01",),
    ),
    "--start 2026-02-30": (
        lambda b, t: fit(b / "leads.csv", start="2026-02-30"),
        ("start '2026-02-30' is not a date (day is out of range for month)",),
    ),
    "backtest --cutoff 2026-02-30": (
        lambda b, t: backtest(b / "leads.csv", "2026-02-30", 2),
        ("cutoff '2026-02-30' is not a date (day is out of range for month)",),
    ),
    "backtest --reps 1": (
        lambda b, t: backtest(b / "leads.csv", "2026-02-16", 2, reps=1),
        ("reps must be a whole number >= 2",),
    ),
    "backtest with few leads before the cutoff": (
        lambda b, t: backtest(b / "leads.csv", "2026-01-06", 2),
        ("leads.csv:", "leads created before the cutoff 2026-01-06; a fit needs at least 30"),
    ),
    "backtest with nothing before the cutoff": (
        lambda b, t: backtest(b / "leads.csv", "2025-06-01", 2),
        ("leads.csv: no lead created before the cutoff 2025-06-01",),
    ),
    "leads all in the future": (
        lambda b, t: fit_export(
            copy_export(
                b,
                t,
                leads=lambda f: f.assign(
                    **{c: f[c].str.replace("2026-", "2099-") for c in f.columns if "Date" in c}
                ),
            )
        ),
        (
            "leads.csv: no usable lead rows",
            "line 2: 'Create Date': placeholder date",
            "more than two years after today",
        ),
    ),
    "one row": (
        lambda b, t: fit_export(copy_export(b, t, leads=first_rows(1))),
        ("leads.csv: 1 usable lead (", f"at least {MIN_LEADS}"),
    ),
    "three rows": (
        lambda b, t: fit_export(copy_export(b, t, leads=first_rows(3))),
        ("leads.csv: 3 usable leads", f"at least {MIN_LEADS}"),
    ),
    "no MQL dates": (
        lambda b, t: fit_export(copy_export(b, t, leads=set_rows(MQL, slice(None), ""))),
        (f"leads.csv: 0 MQLs (column '{MQL}')", "at least 5"),
    ),
    "ambiguous day/month dates": (
        lambda b, t: fit(copy_export(b, t, leads=days_up_to_12)["leads"]),
        ("leads.csv: the dates are ambiguous", "state date_format='dayfirst' or 'monthfirst'"),
    ),
    "mixed date formats": (
        lambda b, t: fit_export(copy_export(b, t, leads=mixed_dates)),
        (
            "leads.csv: no date format reads 90% of the dates (the file mixes date formats)",
            "--date-format",
        ),
    ),
    "Excel serial numbers as dates": (
        lambda b, t: fit_export(
            copy_export(
                b,
                t,
                leads=lambda f: f.assign(
                    **{
                        CREATED: (
                            pd.to_datetime(f[CREATED]) - pd.Timestamp("1899-12-30")
                        ).dt.days.astype(str)
                    }
                ),
            )
        ),
        ("leads.csv: no date format reads 90%", "Excel serial days"),
    ),
    "calls for another id": (
        lambda b, t: fit_export(
            copy_export(b, t, calls=lambda f: f.assign(**{LEAD: "X" + f[LEAD]}))
        ),
        (
            "calls.csv:",
            "leads called are not in",
            f"column '{LEAD}' against 'Record ID'",
            "do the two id columns match?",
        ),
    ),
    "a source name the scenario refuses": (
        lambda b, t: fit_export(copy_export(b, t, leads=set_rows(SOURCE, slice(None), "w" * 300))),
        (
            f"leads.csv: column '{SOURCE}' (source) gives the fitted sources[0].name a value the "
            "scenario refuses",
            "no scenario written",
        ),
    ),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_refused_with_one_line_naming_file_and_column(case, base, tmp_path) -> None:
    run, expected = REFUSED[case]
    with pytest.raises(CalibrationError) as caught:
        run(base, tmp_path)
    message = str(caught.value)
    print(f"\n{case}: {message}")
    assert "\n" not in message and "Traceback" not in message
    for piece in expected:
        assert piece in message, (piece, message)


# The same files through the command line: exit 2 and the one line, before any file is written.
CLI_CASES = {
    "empty file": {"leads": lambda f: ""},
    "header only": {"leads": header_only},
    "binary file": {"leads": lambda f: b"\x00\x01binary" * 40},
    "three rows": {"leads": first_rows(3)},
    "leads all in the future": {
        "leads": lambda f: f.assign(**{CREATED: f[CREATED].str.replace("2026-", "2099-")})
    },
    "calls for another id": {"calls": lambda f: f.assign(**{LEAD: "X" + f[LEAD]})},
    "mixed date formats": {"leads": mixed_dates},
}


@pytest.mark.parametrize("case", list(CLI_CASES), ids=list(CLI_CASES))
def test_the_command_line_says_it_in_one_line_and_exits_2(case, base, tmp_path, capsys) -> None:
    paths = copy_export(base, tmp_path, **CLI_CASES[case])
    out = tmp_path / "fitted.yaml"
    argv = ["fit", "--leads", str(paths["leads"]), "--calls", str(paths["calls"])]
    argv += ["--opportunities", str(paths["opportunities"]), "--out", str(out)]
    capsys.readouterr()
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    print(f"\n{case}: {lines}")
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert str(tmp_path) in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("option", [["--as-of", "yesterday"], ["--date-format", "%Q"]])
def test_bad_options_on_the_command_line(option, base, tmp_path, capsys) -> None:
    """Whoever checks the option first (the command line or the library), one line, exit 2."""
    argv = ["fit", "--leads", str(base / "leads.csv"), "--out", str(tmp_path / "f.yaml"), *option]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # an option refused by the argument parser
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and option[1] in err


# --------------------------------------------------------------------------- reported rows


def _calls_for(lead: str, n: int, when: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(f: pd.DataFrame) -> pd.DataFrame:
        extra = pd.DataFrame(
            {LEAD: lead, WHEN: when, "Call Outcome": "No answer", DURATION: "30",
             "Activity Assigned To": "SDR 1"}, index=range(n),
        )  # fmt: skip
        return pd.concat([f, extra], ignore_index=True)

    return edit


def only_leads(base: Path, n: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Calls or opportunities of the first ``n`` leads only."""
    ids = set(frame(base / "leads.csv")["Record ID"].head(n))
    return lambda f: f[f[LEAD].isin(ids)]


# Each reported case: the edits, fit options, then the report row expected: file, line (the
# file's, header = 1; None: a note about the whole file), column, action, a piece of problem.
REPORTED: dict[str, tuple[Callable[[Path], dict], dict, tuple]] = {
    "a call before its lead": (
        lambda b: {"calls": set_rows(WHEN, [0], "2025-06-01 10:00")},
        {},
        ("calls.csv", 2, WHEN, "excluded", "call before its lead was created"),
    ),
    "a call in 2099": (
        lambda b: {"calls": set_rows(WHEN, [0], "2099-12-31 10:00")},
        {},
        ("calls.csv", 2, WHEN, "excluded", "placeholder date: more than two years after today"),
    ),
    "calls for an unknown lead": (
        lambda b: {"calls": _calls_for("ghost", 7900, "2026-02-02 10:00")},
        {},
        ("calls.csv", None, LEAD, "excluded", "call for a lead not in the lead table"),
    ),
    "a negative call duration": (
        lambda b: {"calls": set_rows(DURATION, [0], "-30")},
        {},
        ("calls.csv", 2, DURATION, "blanked", "negative duration"),
    ),
    "a call of two days": (
        lambda b: {"calls": set_rows(DURATION, [0], "172800")},
        {},
        ("calls.csv", 2, DURATION, "blanked", "a call longer than a day"),
    ),
    "a close before creation": (
        lambda b: {"opportunities": set_rows("Close Date", [0], "2025-01-01 10:00")},
        {},
        ("opportunities.csv", 2, "Close Date", "excluded", "close date before created date"),
    ),
    "an opportunity before its lead": (
        lambda b: {"opportunities": set_rows(CREATED, [0], "2025-06-01 10:00")},
        {},
        ("opportunities.csv", 2, CREATED, "excluded", "opportunity created before its lead"),
    ),
    "a lead created after the as-of date": (
        lambda b: {},
        {"as_of": "2026-03-02"},
        ("leads.csv", None, CREATED, "excluded", "created after the as-of date 2026-03-02"),
    ),
    "a stage date after the as-of date": (
        lambda b: {},
        {"as_of": "2026-03-02"},
        ("leads.csv", None, SQL, "blanked", "after the as-of date 2026-03-02 00:00: not reached"),
    ),
    "a call after the as-of date": (
        lambda b: {},
        {"as_of": "2026-03-02"},
        ("calls.csv", None, WHEN, "excluded", "after the as-of date 2026-03-02"),
    ),
    "100 placeholder leads in 2099": (
        lambda b: {"leads": set_rows(CREATED, slice(0, 100), "2099-12-31 00:00")},
        {},
        ("leads.csv", 2, CREATED, "excluded", "placeholder date: more than two years after"),
    ),
    "a placeholder 1900 date": (
        lambda b: {"leads": set_rows(CREATED, [0], "1900-01-01 00:00")},
        {},
        ("leads.csv", 2, CREATED, "excluded", "more than a year before the rest of the data"),
    ),
    "a source name with a line break": (
        lambda b: {"leads": set_rows(SOURCE, [0], "web\nsources:\n- name: evil")},
        {},
        ("leads.csv", 2, SOURCE, "cleaned", "control characters"),
    ),
    "a constant score": (
        lambda b: {"leads": set_rows(SCORE, slice(None), "50")},
        {},
        ("leads.csv", None, SCORE, "warning", "every lead has the same score (50)"),
    ),
    "an infinite score column": (
        lambda b: {"leads": set_rows(SCORE, slice(None), "inf")},
        {},
        ("leads.csv", 2, SCORE, "blanked", "not a finite number"),
    ),
    "a few dates in another format": (
        lambda b: {"leads": set_rows(CREATED, [3], "01/20/2026 09:30")},
        {},
        ("leads.csv", 5, CREATED, "excluded", "unparseable date"),
    ),
    "small samples": (
        lambda b: {
            "leads": first_rows(60),
            "calls": only_leads(b, 60),
            "opportunities": only_leads(b, 60),
        },
        {},
        ("leads.csv", None, None, "warning", "fewer than 10"),
    ),
}


@pytest.mark.parametrize("case", list(REPORTED), ids=list(REPORTED))
def test_rows_that_cannot_be_true_are_reported(case, base, good, tmp_path) -> None:
    edits, options, (name, line, column, action, problem) = REPORTED[case]
    paths = copy_export(base, tmp_path, **edits(base))
    cal = fit_export(paths, **options)
    report = cal.problems
    hit = report[
        report["file"].astype(str).str.endswith(name)
        & (report["action"] == action)
        & report["problem"].astype(str).str.contains(problem, regex=False)
    ]
    if column is not None:
        hit = hit[hit["column"] == column]
    if line is not None:
        hit = hit[hit["line"] == line]
    print(f"\n{case}:\n{hit.head(3).to_string(index=False)}")
    assert len(hit), report.to_string()
    # The fitted scenario is valid and written: its comments stay comments.
    out = cal.write_scenario(tmp_path / "fitted.yaml")
    scenario = simfunnel.load_scenario(out)
    assert len(scenario.sources) == len(cal.arrivals)
    if case == "a source name with a line break":
        assert {s.name for s in scenario.sources} <= {"web", "event", "web sources: - name: evil"}
        assert "evil" not in yaml.safe_dump(yaml.safe_load(out.read_text())).split("sources")[0]
    if case in ("calls for an unknown lead", "a call before its lead", "a call in 2099"):
        # Calls that cannot be true never shape the cadence.
        for key in ("max_attempts", "gaps"):
            assert cal.scenario_dict()["cadence"][key] == good.scenario_dict()["cadence"][key]
    if case == "100 placeholder leads in 2099":
        assert cal.as_of == good.as_of  # the period is the data's, not 2099
        rate, known = cal.arrivals["rate_per_week"].sum(), good.arrivals["rate_per_week"].sum()
        assert abs(rate - known) <= 100 / (good.as_of - good.start).days * 7 + 1e-9
    if case == "small samples":
        assert len(cal.warnings) >= 3
        assert "# WARNING" in out.read_text()


def test_a_failing_scenario_never_replaces_a_good_file(good, tmp_path) -> None:
    """write_scenario checks before it writes, under a temporary name renamed only when the
    check passes: a bad value leaves the good file as it was and names the CSV column."""
    path = good.write_scenario(tmp_path / "fitted.yaml")
    before = path.read_text()
    bad = copy.copy(good)
    bad._scenario = copy.deepcopy(good._scenario)
    bad._scenario["ae"]["deal_value"] = -5.0
    with pytest.raises(CalibrationError) as caught:
        bad.write_scenario(path)
    message = str(caught.value)
    assert "column 'Amount' (amount)" in message and "ae.deal_value" in message
    assert "no scenario written" in message and "\n" not in message
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fitted.yaml"]  # no temporary left


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encoding", "stated"),
    [("utf-8-sig", None), ("utf-16", None), ("utf-32", None), ("cp1252", "cp1252")],
)
def test_encodings_by_byte_order_mark_or_stated(encoding, stated, base, tmp_path) -> None:
    f = frame(base / "leads.csv")
    f.loc[0, SOURCE] = "Événement"
    path = tmp_path / "leads.csv"
    path.write_bytes(f.to_csv(index=False).encode(encoding))
    table = read_leads(path, encoding=stated)
    assert table.columns["lead_id"] == "Record ID"  # no byte-order mark left in the header
    assert table.data["created"].notna().all()
    assert table.data.loc[0, "source"] == "Événement" and table.excluded == 0


def test_separator_is_sniffed_from_the_header(base, tmp_path) -> None:
    for sep in (";", "\t", "|"):
        path = tmp_path / "calls.csv"
        path.write_text(frame(base / "calls.csv").to_csv(index=False, sep=sep))
        assert read_calls(path).excluded == 0


def test_day_first_dates_with_am_pm_are_read_day_first(base, tmp_path) -> None:
    paths = copy_export(base, tmp_path, leads=dates_as("%d/%m/%Y %I:%M %p"))
    table = read_leads(paths["leads"])
    assert table.date_format.startswith("day-first (detected")
    assert table.excluded == 0
    original = read_leads(base / "leads.csv").data["created"]
    assert (table.data["created"] == original).all()


def test_timezone_offsets_keep_the_local_wall_clock_time(tmp_path) -> None:
    """The CRM showed 09:00 to the rep: converting to UTC would move office hours."""
    path = tmp_path / "leads.csv"
    path.write_text(
        "Record ID,Create Date\n1,2026-01-05T09:00:00+01:00\n2,2026-01-05 09:00\n"
        "3,2026-01-05T09:00:00-05:00\n"
    )
    got = read_leads(path).data["created"].dt.strftime("%H:%M").tolist()
    assert got == ["09:00", "09:00", "09:00"]


def test_a_cleaned_source_name_cannot_break_the_yaml(base, tmp_path) -> None:
    paths = copy_export(base, tmp_path, leads=set_rows(SOURCE, slice(0, 40), "web\r\n# x: 1"))
    cal = fit_export(paths)
    text = cal.to_yaml()
    assert all(line.startswith("#") or not line.startswith(" #") for line in text.splitlines())
    names = [s["name"] for s in yaml.safe_load(text)["sources"]]
    assert "web # x: 1" in names and not any("\n" in n for n in names)
    assert math.isfinite(cal.arrivals["rate_per_week"].sum())


def test_encoding_and_separator_from_the_command_line(base, tmp_path, capsys) -> None:
    from simfunnel.cli import main

    f = frame(base / "leads.csv")
    f.loc[0, SOURCE] = "Événement"
    path = tmp_path / "leads.csv"
    path.write_bytes(f.to_csv(index=False, sep=";").encode("cp1252"))
    out = tmp_path / "fitted.yaml"
    assert main(["fit", "--leads", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not UTF-8" in err[0] and "encoding" in err[0]
    args = ["fit", "--leads", str(path), "--encoding", "cp1252", "--sep", ";", "--out", str(out)]
    assert main(args) == 0
    assert "Événement" in out.read_text(encoding="utf-8")
