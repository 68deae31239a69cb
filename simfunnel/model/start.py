"""Starting from today's funnel: open leads and opportunities read from a lead table.

A forecast should start from the funnel as it is, not from an empty one. The snapshot is a table
with the columns of ``result.leads`` (``simfunnel run --out`` writes it as ``leads.csv``), so a
CRM export shaped like it, or the end of another run, can seed a run. Each row starts the run in
its ``end_state``:

- ``untouched``: an MQL waiting for its first attempt (queued by its age; speed-to-lead decay
  counts from ``arrived``);
- ``working``: in a cadence, ``attempts`` touches done, the next one due at the start;
- ``on_list``: an outbound account on the target list;
- ``sql``: tossed up to an AE, first meeting still to come;
- ``open_opportunity``: a valid opportunity; it closes after the rest of its sales cycle, drawn
  from ``ae.sales_cycle`` given how long it has been open (since ``valid_opportunity``);
- ``nurture``, ``recycled``, ``information_gathering``, ``postponed``: in nurture (their scores
  move, and they may re-MQL, with a ``nurture`` section);
- any closed state: kept as it is, so the table's every row is accounted for.

Missing values are filled from the scenario: score and quality from the source's means, deal
value drawn from ``ae.deal_value``, ``arrived`` as the start.

Read with care (one line per problem, naming the file, line and column): the file must be text
(UTF-8, or UTF-16 with its byte-order mark) with a header and at least one row; dates are read
value by value (ISO 8601, else day-first or month-first as most of the column reads, a date both
read differently being flagged), and a number in a date column is an Excel serial day (1900
system, 20000 to 80000: 1954 to 2119) or flagged, never a 1970 timestamp; lead ids must be
unique (a duplicate would carry a lead in twice); attempts are whole numbers from 0 to
``MAX_ATTEMPTS``; numbers must be finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..base.units import WEEK
from ..data import CalibrationError, local_time, parse_family, read_csv_text, to_datetime
from ..scenario import Scenario, ScenarioError
from .arrivals import Leads, Streams
from .states import END_STATES

REQUIRED = ("source", "end_state")
MAX_LINES = 20  # problems listed one per line; the rest are counted
MAX_ATTEMPTS = 1000  # attempts already made: no cadence runs to more
EXCEL_SERIALS = (20000.0, 80000.0)  # numbers read as Excel serial days (1954-10 to 2119-01)
_EXCEL_ORIGIN = pd.Timestamp("1899-12-30")  # day 0 of Excel's 1900 date system, as it counts


@dataclass(frozen=True)
class Snapshot:
    """Open leads at the start of a run, validated against a scenario's sources."""

    origin: str  # the file (or "<frame>"), for messages
    source_names: tuple[str, ...]  # the scenario's sources, in order
    source: np.ndarray  # index into source_names
    state: np.ndarray  # end-state names
    arrival: np.ndarray  # hours from the start (<= 0)
    score: np.ndarray  # NaN: not given
    quality: np.ndarray  # NaN: not given
    attempts: np.ndarray
    valid_at: np.ndarray  # hours from the start (<= 0), NaN: not given
    value: np.ndarray  # NaN: not given

    def __len__(self) -> int:
        return len(self.source)

    def counts(self) -> dict[str, int]:
        """Rows per starting state."""
        names, counts = np.unique(self.state, return_counts=True)
        return {str(n): int(c) for n, c in zip(names, counts, strict=True)}


def read_snapshot(
    data: str | Path | pd.DataFrame, scenario: Scenario, *, encoding: str | None = None
) -> Snapshot:
    """Read and check a lead table; raise ScenarioError with one line per problem.

    ``encoding``: of a file, when it is neither UTF-8 nor marked by a byte-order mark."""
    origin, frame = _lead_frame(data, encoding)
    _check_shape(origin, frame, scenario)
    table = _LeadTable(origin, frame)
    names = tuple(scenario.source_names)
    source = table.sources(names)
    state = table.states(scenario)
    table.check_ids()
    start = pd.Timestamp(scenario.start)
    arrival = np.nan_to_num(table.times("arrived", start), nan=0.0)
    valid_at = table.times("valid_opportunity", start)
    attempts = table.attempts()
    score, quality, value = table.numbers("score"), table.numbers("quality"), table.numbers("value")
    table.raise_problems()
    order = np.argsort(arrival, kind="stable")  # the engine takes leads in arrival order
    return Snapshot(
        origin=origin,
        source_names=names,
        source=source[order],
        state=state[order],
        arrival=arrival[order],
        score=score[order],
        quality=quality[order],
        attempts=attempts.astype(np.int32)[order],
        valid_at=valid_at[order],
        value=value[order],
    )


def _lead_frame(data: str | Path | pd.DataFrame, encoding: str | None) -> tuple[str, pd.DataFrame]:
    """The table's origin (for messages) and its cells, a blank cell read as missing."""
    if isinstance(data, pd.DataFrame):
        return "<frame>", data.reset_index(drop=True)
    try:
        raw = read_csv_text(data, encoding=encoding, what="lead table (CSV)")
    except CalibrationError as exc:
        raise ScenarioError([" ".join(str(exc).split())]) from None
    return str(data), raw.mask(raw == "")


def _check_shape(origin: str, frame: pd.DataFrame, scenario: Scenario) -> None:
    """Problems that stop the reading at once: a warm-up, or a required column missing."""
    if scenario.warm_up:
        raise ScenarioError(
            [
                f"{origin}: the scenario sets warm_up ({scenario.warm_up / WEEK:g} weeks), and a "
                "snapshot is the funnel at start_date: use one or the other (warm_up: 0 weeks "
                "in the scenario file, or --warm-up 0 with --snapshot)"
            ]
        )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ScenarioError(
            [
                f"{origin}: missing column {c!r} (a lead table as result.leads writes it)"
                for c in missing
            ]
        )


class _LeadTable:
    """A lead table being read column by column, and the problems found so far (one a line)."""

    def __init__(self, origin: str, frame: pd.DataFrame) -> None:
        self.origin = origin
        self.frame = frame
        self.n = len(frame)
        self.problems: list[str] = []

    def bad(self, row: int, column: str, message: str, got: object) -> None:
        """Note a problem in one cell."""
        # Row numbers as a spreadsheet shows them: the header is line 1.
        self.problems.append(f"{self.origin}: line {row + 2}: {column}: {message} (got {got!r})")

    def sources(self, names: tuple[str, ...]) -> np.ndarray:
        """Each row's source, as an index into the scenario's sources."""
        source = np.zeros(self.n, dtype=np.int16)
        for i, name in enumerate(self.frame["source"].astype(str)):
            if name in names:
                source[i] = names.index(name)
            else:
                self.bad(i, "source", f"unknown source, the scenario has {', '.join(names)}", name)
        return source

    def states(self, scenario: Scenario) -> np.ndarray:
        """Each row's state by name: a known one, on the target list only for an account."""
        frame = self.frame
        state = frame["end_state"].astype(str).to_numpy()
        outbound = scenario.outbound.accounts.name if scenario.outbound is not None else None
        for i, st in enumerate(state):
            if st not in END_STATES:
                self.bad(i, "end_state", f"unknown state, use one of {', '.join(END_STATES)}", st)
            elif st == "on_list" and frame["source"].iloc[i] != outbound:
                self.bad(i, "end_state", "only outbound accounts can be on the target list", st)
        return state

    def check_ids(self) -> None:
        """Lead ids, when given, are unique: a duplicate would carry a lead in twice."""
        if "lead_id" not in self.frame.columns:
            return
        ids = self.frame["lead_id"]
        twice = ids.notna() & ids.duplicated(keep=False)
        if twice.any():
            lines = pd.Series(np.arange(self.n) + 2, index=self.frame.index)[twice].groupby(
                ids[twice]
            )
            shown = [f"{k!r} on lines {', '.join(map(str, v.tolist()))}" for k, v in lines][:3]
            more = f" and {lines.ngroups - 3} more" if lines.ngroups > 3 else ""
            self.problems.append(
                f"{self.origin}: lead_id: duplicate ids, one row per lead (a duplicate carries a "
                f"lead in twice): {'; '.join(shown)}{more}"
            )

    def times(self, column: str, start: pd.Timestamp) -> np.ndarray:
        """A date column as hours from ``start`` (NaN where missing); none may be after it."""
        frame = self.frame
        if column not in frame.columns:
            return np.full(self.n, np.nan)
        stamps, why = _dates(frame[column])
        for i in np.flatnonzero(why.notna()):
            self.bad(int(i), column, why.iloc[i], frame[column].iloc[i])
        hours = ((stamps - start) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
        for i in np.flatnonzero(hours > 0):
            self.bad(
                int(i),
                column,
                f"must not be after the start {start:%Y-%m-%d}",
                frame[column].iloc[i],
            )
        return hours

    def numbers(self, column: str) -> np.ndarray:
        """A number column (NaN where missing); text and infinities are problems."""
        frame = self.frame
        if column not in frame.columns:
            return np.full(self.n, np.nan)
        values = pd.to_numeric(frame[column], errors="coerce")
        for i in np.flatnonzero(values.isna() & frame[column].notna()):
            self.bad(int(i), column, "not a number", frame[column].iloc[i])
        for i in np.flatnonzero(np.isinf(values)):
            self.bad(int(i), column, "not a finite number", frame[column].iloc[i])
        return values.where(~np.isinf(values)).to_numpy(dtype=float)

    def attempts(self) -> np.ndarray:
        """Touches already made: whole numbers from 0 to MAX_ATTEMPTS (0 where missing)."""
        attempts = np.nan_to_num(self.numbers("attempts"), nan=0.0)
        for i in np.flatnonzero((attempts < 0) | (attempts != np.floor(attempts))):
            self.bad(
                int(i), "attempts", "must be a whole number >= 0", self.frame["attempts"].iloc[i]
            )
        for i in np.flatnonzero(attempts > MAX_ATTEMPTS):
            self.bad(
                int(i),
                "attempts",
                f"must be at most {MAX_ATTEMPTS}",
                self.frame["attempts"].iloc[i],
            )
        return attempts

    def raise_problems(self) -> None:
        """Raise every problem found, one a line (the first MAX_LINES, then a count)."""
        if self.problems:
            more = len(self.problems) - MAX_LINES
            tail = [f"{self.origin}: ... and {more} more"] if more > 0 else []
            raise ScenarioError(self.problems[:MAX_LINES] + tail)


def _dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A column of dates read value by value: the timestamps (NaT where missing or unread) and,
    per row, why a value was not read (None where it was).

    ISO 8601 first (a UTC offset or zone dropped, the wall-clock time written kept, as the
    CRM readers do); a number is an Excel serial day within
    ``EXCEL_SERIALS``, else flagged (never a count of nanoseconds since 1970); other text is
    read day-first or month-first, whichever reads more of the column, and a value both read
    differently is flagged as ambiguous.
    """
    why = pd.Series(None, index=values.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values)
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):  # the wall-clock time, as written
            stamps = stamps.dt.tz_localize(None)
        inside = stamps.between(pd.Timestamp.min, pd.Timestamp.max) | stamps.isna()
        why[~inside] = "a date pandas cannot hold (before 1677 or after 2262)"
        return stamps.where(inside).astype("datetime64[ns]"), why
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    given = values.notna()
    text = local_time(values.where(given, "").astype(str).str.strip())
    given &= text != ""
    number = pd.to_numeric(text.where(given), errors="coerce")
    is_number = given & number.notna()
    low, high = EXCEL_SERIALS
    serial = is_number & number.between(low, high)
    out[serial] = _EXCEL_ORIGIN + pd.to_timedelta(number[serial], unit="D")
    why[is_number & ~serial] = (
        f"a number, not a date (numbers from {low:.0f} to {high:.0f} are read as Excel serial days)"
    )
    rest = given & ~is_number
    if rest.any():
        iso = to_datetime(text[rest], "ISO8601")
        out[iso.index[iso.notna()]] = iso[iso.notna()]
        rest &= out.isna()
    if rest.any():
        day, month = (parse_family(text[rest], f) for f in ("day-first", "month-first"))
        first = day if day.notna().sum() >= month.notna().sum() else month
        other = month if first is day else day
        clash = first.notna() & other.notna() & (first != other)
        why[clash[clash].index] = "ambiguous date: day-first or month-first? write YYYY-MM-DD"
        got = first.notna() & ~clash
        out[got[got].index] = first[got]
        rest &= out.isna() & why.isna()
    why[rest] = "not a date and time"
    return out, why


def residual(
    cycle: np.ndarray,
    age: np.ndarray,
    draw: Callable[[np.random.Generator, int], np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Time left in a sales cycle already ``age`` long: a cycle drawn given it exceeds the age.

    Rejection sampling, up to 100 rounds; a cycle that has outrun nearly every draw closes at
    once (its remaining time is 0).
    """
    total = cycle.copy()
    todo = np.flatnonzero(total <= age)
    for _ in range(100):
        if not len(todo):
            break
        total[todo] = draw(rng, len(todo))
        todo = todo[total[todo] <= age[todo]]
    out = total - age
    out[todo] = 0.0
    return np.maximum(out, 0.0)


def _fill(values: np.ndarray, defaults: np.ndarray) -> np.ndarray:
    """``values``, with ``defaults`` where a value is missing."""
    return np.where(np.isnan(values), defaults, values)


def snapshot_leads(snapshot: Snapshot, scenario: Scenario, streams: Streams) -> Leads:
    """The snapshot's rows as leads, in the engine's form, in the snapshot's (arrival) order."""
    if tuple(scenario.source_names) != snapshot.source_names:
        raise ValueError(
            f"{snapshot.origin} was read for sources {list(snapshot.source_names)}; this scenario "
            f"has {scenario.source_names}: read it again with this scenario"
        )
    n = len(snapshot)
    ae = scenario.ae
    k = len(scenario.sources)
    score_mean = [s.score.mean for s in scenario.sources] + [math.nan]
    quality_mean = [s.quality.mean for s in scenario.sources]
    if scenario.outbound is not None:
        quality_mean.append(scenario.outbound.accounts.icp_fit.mean)
    src = snapshot.source
    rng = streams.rng("snapshot", "ae")
    cycle = ae.sales_cycle.sample(rng, n)
    age = np.where(np.isnan(snapshot.valid_at), 0.0, -snapshot.valid_at)
    open_opp = snapshot.state == "open_opportunity"
    if open_opp.any():
        cycle[open_opp] = residual(cycle[open_opp], age[open_opp], ae.sales_cycle.sample, rng)
    leads = Leads(
        arrival=snapshot.arrival.astype(float),
        source=src.astype(np.int16),
        score=np.where(src < k, _fill(snapshot.score, np.array(score_mean)[src]), np.nan),
        quality=_fill(snapshot.quality, np.array(quality_mean)[src]),
        u_accept=rng.random(n),
        u_win=rng.random(n),
        u_reason=rng.random(n),
        meeting_delay=ae.meeting_delay.sample(rng, n),
        sales_cycle=cycle,  # for open opportunities: the time left
        value=_fill(snapshot.value, ae.deal_value.sample(rng, n)),
        patience=np.full(n, np.inf),
        trial_end=np.full(n, np.inf),
        self_serve=np.zeros(n),
        carried=np.ones(n, dtype=bool),
    )
    return leads
