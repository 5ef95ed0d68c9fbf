"""read_labelled_series: the NAB (timestamp,value,label) and TSB-AD (Data,Label) layouts, and clear refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latentlab.data.labelled_series import LabelledSeries, read_labelled_series
from latentlab.errors import DataError

NAB = "timestamp,value,label\n"


def _write(tmp_path, text: str, name: str = "s.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _nab_rows(values, labels, start="2014-04-01 00:00:00", every="5min"):
    times = pd.date_range(start, periods=len(values), freq=every)
    return NAB + "".join(f"{t:%Y-%m-%d %H:%M:%S},{v},{y}\n" for t, v, y in zip(times, values, labels))


def test_reads_nab_layout(tmp_path):
    values = [1.0, 2.5, -3.0, 4.0, 5.0, 6.0]
    labels = [0, 1, 1, 0, 1, 0]
    s = read_labelled_series(_write(tmp_path, _nab_rows(values, labels), "realX__one.csv"))
    assert isinstance(s, LabelledSeries) and s.name == "realX__one" and len(s) == 6
    assert s.values.dtype == np.float64 and s.values.tolist() == values
    assert s.labels.dtype == np.int64 and s.labels.tolist() == labels
    assert s.events == 2  # steps 1-2 and step 4
    assert s.timestamps[1] == pd.Timestamp("2014-04-01 00:05:00")
    ps = s.as_pandas()
    assert ps.index.equals(s.timestamps) and ps.tolist() == values


def test_reads_tsb_ad_layout_without_timestamps(tmp_path):
    s = read_labelled_series(_write(tmp_path, "Data,Label\n0.5,0\n0.7,0\n9.0,1\n0.6,0\n"))
    assert s.timestamps is None and s.values.tolist() == [0.5, 0.7, 9.0, 0.6] and s.labels.tolist() == [0, 0, 1, 0]
    assert s.events == 1 and s.as_pandas().index.tolist() == [0, 1, 2, 3]


def test_labels_written_as_floats_and_an_event_at_the_end(tmp_path):
    s = read_labelled_series(_write(tmp_path, "value,label\n1,0.0\n2,1.0\n3,1.0\n"))
    assert s.labels.tolist() == [0, 1, 1] and s.events == 1


@pytest.mark.parametrize("text, match", [
    ("timestamp,value\n2014-04-01,1\n2014-04-02,2\n", "one 'label' column"),
    ("timestamp,value,label,other\n2014-04-01,1,0,3\n2014-04-02,2,0,3\n", "nothing else"),
    ("value,data,label\n1,1,0\n2,2,0\n", "one value column"),
    (NAB + "2014-04-01 00:00:00,1,0\n", "at least 2 steps"),
    (NAB + "2014-04-01 00:00:00,1,0\n2014-04-01 00:05:00,,0\n", "line 3: the value '' is not a finite number"),
    (NAB + "2014-04-01 00:00:00,abc,0\n2014-04-01 00:05:00,1,0\n", "line 2: the value 'abc'"),
    (NAB + "2014-04-01 00:00:00,inf,0\n2014-04-01 00:05:00,1,0\n", "line 2: the value 'inf'"),
    (NAB + "2014-04-01 00:00:00,1,0\n2014-04-01 00:05:00,1,2\n", "line 3: the label '2' is not 0 or 1"),
    (NAB + "2014-04-01 00:00:00,1,0\n2014-04-01 00:05:00,1,\n", "line 3: the label '' is not 0 or 1"),
    (NAB + "yesterday,1,0\n2014-04-01 00:05:00,1,0\n", "line 2: the timestamp 'yesterday' cannot be read"),
])
def test_bad_files_are_refused_with_the_line_and_the_fix(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        read_labelled_series(_write(tmp_path, text))


@pytest.mark.parametrize("second, what", [("00:05:00", "repeats the one before it"), ("00:00:00", "goes back in time")])
def test_time_out_of_order_is_kept_unless_refused(tmp_path, second, what):
    path = _write(tmp_path, NAB + "2014-04-01 00:05:00,1,0\n2014-04-01 " + second + ",2,1\n2014-04-01 00:10:00,3,0\n")
    s = read_labelled_series(path)  # NAB's daylight-saving hours: the rows are the steps, in their order
    assert s.values.tolist() == [1.0, 2.0, 3.0] and s.labels.tolist() == [0, 1, 0] and not s.time_ordered
    with pytest.raises(DataError, match="line 3 repeats or steps back.*use .values"):
        s.as_pandas()
    with pytest.raises(DataError, match=f"line 3: the timestamp '2014-04-01 {second}' {what}; sort the rows"):
        read_labelled_series(path, require_ordered_time=True)
    assert read_labelled_series(_write(tmp_path, _nab_rows([1, 2, 3], [0, 0, 1]), "ok.csv")).time_ordered


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist; pass a CSV file"):
        read_labelled_series(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_labelled_series(tmp_path)
