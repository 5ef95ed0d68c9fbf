"""Labelled univariate series in the CSV layouts of the NAB and TSB-AD benchmarks.

Two layouts are read, told apart by their header (column names in any case):

- NAB's, as the development series of ``benchmarks/tsbad.py`` are stored:
  ``timestamp,value,label``, one row a step, the timestamps in time order;
- TSB-AD-U's: ``Data,Label`` (no timestamps).

In both, ``label`` is 1 for an anomalous step and 0 otherwise, and the rows
are the steps in their order. The series must be complete: a benchmark
scores every step, so a gap, a non-numeric value or a label other than 0/1
is refused with the row it is on. Timestamps are kept as written: NAB's own
files repeat an hour or step back one where daylight saving time ends, and
the benchmarks score them in row order all the same
(``require_ordered_time=True`` refuses such a file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .validation import input_file

#: Accepted names (lower case) of the value column and of the time column.
VALUE_NAMES = ("value", "data")
TIME_NAMES = ("timestamp",)


@dataclass(frozen=True)
class LabelledSeries:
    """One labelled series: ``values`` (float64) and ``labels`` (int64, 1 = anomalous), one a step.

    ``timestamps`` is a pandas ``DatetimeIndex`` where the file has a
    timestamp column, else None; :meth:`as_pandas` puts it on the values.
    """

    name: str
    values: np.ndarray
    labels: np.ndarray
    timestamps: object | None = None

    def __len__(self) -> int:
        return len(self.values)

    @property
    def events(self) -> int:
        """Number of anomalous stretches (runs of consecutive 1s)."""
        y = np.concatenate([[0], self.labels, [0]])
        return int((np.diff(y) == 1).sum())

    @property
    def time_ordered(self) -> bool:
        """Whether the timestamps rise strictly from row to row (True without timestamps)."""
        return self.timestamps is None or bool((np.diff(self.timestamps.asi8) > 0).all())

    def as_pandas(self):
        """The values as a pandas Series, on the timestamps where the file has them.

        Timestamps that repeat or step back are refused (:class:`DataError`): a time index must rise.
        """
        import pandas as pd

        if not self.time_ordered:
            line = int(np.flatnonzero(np.diff(self.timestamps.asi8) <= 0)[0]) + 3
            raise DataError(f"{self.name}: the timestamp on line {line} repeats or steps back, so the series "
                            "has no time index; use .values (the steps in row order).")
        return pd.Series(self.values, index=self.timestamps, name="value")


def _column(columns: list[str], names: tuple[str, ...]) -> str | None:
    hits = [c for c in columns if str(c).strip().lower() in names]
    return hits[0] if len(hits) == 1 else None


def _first_bad(mask: np.ndarray, cells) -> tuple[int, str]:
    """The file line (1-based, after the header) and the text of the first row that ``mask`` marks."""
    i = int(np.flatnonzero(mask)[0])
    return i + 2, str(cells.iloc[i])


def read_labelled_series(path: str | Path, *, require_ordered_time: bool = False) -> LabelledSeries:
    """Read one labelled series (``timestamp,value,label`` or ``Data,Label``) from a CSV file.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    require_ordered_time : bool, default=False
        Refuse timestamps that repeat or step back (by default they are kept, see the module's docstring).

    Returns
    -------
    LabelledSeries
        Its values, labels and timestamps (None without a timestamp column); ``name`` is the file's stem.

    Raises
    ------
    DataError
        A missing file, a missing or ambiguous column, a value that is not a finite number, a label other
        than 0 or 1, an unreadable timestamp (or, with ``require_ordered_time``, one that repeats or steps
        back), or fewer than two rows; the message names the line and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
    >>> _ = p.write_text("timestamp,value,label\\n2014-04-01 00:00:00,1.5,0\\n2014-04-01 00:05:00,9.0,1\\n")
    >>> s = read_labelled_series(p)
    >>> s.values.tolist(), s.labels.tolist(), s.events, str(s.timestamps[1])
    ([1.5, 9.0], [0, 1], 1, '2014-04-01 00:05:00')
    """
    import pandas as pd

    path = input_file(path, "a CSV file with a header timestamp,value,label (NAB) or Data,Label (TSB-AD)")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} could not be parsed as CSV ({exc}).") from None
    columns = list(df.columns)
    label_col = _column(columns, ("label",))
    value_col = _column(columns, VALUE_NAMES)
    time_col = _column(columns, TIME_NAMES)
    extra = [c for c in columns if c not in (label_col, value_col, time_col)]
    if label_col is None or value_col is None or extra:
        raise DataError(
            f"{path} has the columns {columns[:8]}; a labelled series has one value column "
            f"({' or '.join(VALUE_NAMES)}), one 'label' column, optionally one 'timestamp' column, and nothing else."
        )
    if len(df) < 2:
        raise DataError(f"{path} has {len(df)} row(s); a series needs at least 2 steps.")
    values = pd.to_numeric(df[value_col].str.strip(), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        line, cell = _first_bad(bad, df[value_col])
        raise DataError(f"{path}, line {line}: the value {cell!r} is not a finite number ({int(bad.sum())} such "
                        "row(s)); a benchmark series must be complete.")
    raw_labels = df[label_col].str.strip()
    bad = ~raw_labels.isin(("0", "1", "0.0", "1.0")).to_numpy()
    if bad.any():
        line, cell = _first_bad(bad, raw_labels)
        raise DataError(f"{path}, line {line}: the label {cell!r} is not 0 or 1; mark anomalous steps 1 and the "
                        "others 0.")
    labels = raw_labels.astype(float).astype(np.int64).to_numpy()
    timestamps = None
    if time_col is not None:
        timestamps = pd.DatetimeIndex(pd.to_datetime(df[time_col].str.strip(), format="ISO8601", errors="coerce"))
        bad = np.asarray(timestamps.isna())
        if bad.any():
            line, cell = _first_bad(bad, df[time_col])
            raise DataError(f"{path}, line {line}: the timestamp {cell!r} cannot be read; write dates as "
                            "YYYY-MM-DD HH:MM:SS.")
        back = np.r_[False, np.diff(timestamps.asi8) <= 0]
        if require_ordered_time and back.any():
            line, cell = _first_bad(back, df[time_col])
            what = "repeats the one before it" if timestamps[line - 2] == timestamps[line - 3] else "goes back in time"
            raise DataError(f"{path}, line {line}: the timestamp {cell!r} {what}; sort the rows by time and drop "
                            "duplicates.")
    return LabelledSeries(path.stem, values, labels, timestamps)
