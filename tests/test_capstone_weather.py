"""The capstone's weather inputs: the KMA ASOS daily CSV loader and the feels-like formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recsys_ref.data.kma import KMAFormatError, read_asos_daily, write_asos_daily
from recsys_ref.feels_like import feels_like, wind_chill

HEADER = "지점,지점명,일시,평균기온(°C),최저기온(°C),최고기온(°C),일강수량(mm),평균 풍속(m/s),평균 상대습도(%)"
ROWS = [
    "108,서울,2024-01-01,-3.2,-7.5,1.0,,2.1,55.4",  # rain blank (a dry day)
    "108,서울,2024-01-02,-1.0,-4.1,3.5,0.5,3.4,60.0",
    "159,부산,2024-05-01,17.3,13.0,22.4,12.5,,71.0",  # wind blank (missing)
]


def write(path, lines, encoding):
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["cp949", "euc-kr", "utf-8-sig", "utf-8"])
def test_reads_the_portal_format_in_every_encoding(tmp_path, encoding):
    data = read_asos_daily(write(tmp_path / "OBS_ASOS_DD.csv", [HEADER, *ROWS], encoding))
    assert len(data) == 3
    assert data.station.tolist() == [108, 108, 159]
    assert data.station_name == ["서울", "서울", "부산"]
    assert data.day.astype(str).tolist() == ["2024-01-01", "2024-01-02", "2024-05-01"]
    assert data.month.tolist() == [1, 1, 5]
    np.testing.assert_allclose(data.t_mean, [-3.2, -1.0, 17.3])
    np.testing.assert_allclose(data.t_min, [-7.5, -4.1, 13.0])
    assert math.isnan(data.rain_mm[0]) and data.rain_or_zero.tolist() == [0.0, 0.5, 12.5]
    assert math.isnan(data.wind_ms[2]) and data.wind_ms[1] == 3.4
    np.testing.assert_allclose(data.humidity, [55.4, 60.0, 71.0])


def test_extra_columns_and_column_order_are_ignored(tmp_path):
    header = "지점,지점명,일시,평균기온(°C),최저기온(°C),최저기온 시각(hhmi),최고기온(°C),일강수량(mm),평균 풍속(m/s),평균 상대습도(%),합계 일조시간(hr)"
    row = "108,서울,20240101,-3.2,-7.5,0612,1.0,,2.1,55.4,8.1"
    data = read_asos_daily(write(tmp_path / "a.csv", [header, row], "cp949"))
    assert data.day.astype(str).tolist() == ["2024-01-01"] and data.t_max.tolist() == [1.0]


def test_writer_round_trips(tmp_path):
    rows = [
        {
            "지점": 108,
            "지점명": "서울",
            "일시": "2024-01-03",
            "평균기온(°C)": 0.5,
            "일강수량(mm)": None,
        }
    ]
    data = read_asos_daily(write_asos_daily(tmp_path / "w.csv", rows, encoding="cp949"))
    assert (
        data.t_mean.tolist() == [0.5]
        and math.isnan(data.rain_mm[0])
        and math.isnan(data.wind_ms[0])
    )


@pytest.mark.parametrize("encoding", ["cp949", "utf-8-sig"])
def test_a_bad_row_names_the_file_and_the_line(tmp_path, encoding):
    path = write(
        tmp_path / "bad.csv",
        [HEADER, ROWS[0], "108,서울,2024-01-02,영하,-4.1,3.5,0.5,3.4,60.0"],
        encoding,
    )
    with pytest.raises(
        KMAFormatError, match=r"bad\.csv, line 3: column '평균기온\(°C\)' holds '영하'"
    ):
        read_asos_daily(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("108,서울,2024-13-40,1,1,1,,1,1", r"line 2: column '일시' holds '2024-13-40'"),
        ("108,서울,2024-01-01,1,1", r"line 2: 5 cells, the header has 9"),
        ("서울,108,2024-01-01,1,1,1,,1,1", r"line 2: column '지점' holds '서울'"),
    ],
)
def test_malformed_rows(tmp_path, line, message):
    with pytest.raises(KMAFormatError, match=message):
        read_asos_daily(write(tmp_path / "m.csv", [HEADER, line], "cp949"))


def test_not_an_asos_file(tmp_path):
    with pytest.raises(KMAFormatError, match=r"x\.csv, line 1: the header lacks 지점, 일시"):
        read_asos_daily(write(tmp_path / "x.csv", ["date,temp", "2024-01-01,3"], "utf-8"))
    with pytest.raises(KMAFormatError, match="line 1: the file is empty"):
        read_asos_daily(write(tmp_path / "e.csv", [], "utf-8"))
    (tmp_path / "bin.csv").write_bytes(HEADER.encode("cp949") + b"\r\n108,\xff\xff\xff,2024")
    with pytest.raises(KMAFormatError, match=r"bin\.csv, line 2: neither UTF-8 nor CP949"):
        read_asos_daily(tmp_path / "bin.csv")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_asos_daily(tmp_path / "absent.csv")


# ---------------------------------------------------------------- feels-like
# Values computed by hand (calculator, 4 decimals) from 13.12 + 0.6215T − 11.37V^0.16 + 0.3965TV^0.16;
# the integers beside them are Environment Canada's published wind-chill table (rounded).
HAND = [  # (T °C, V km/h, by hand, EC table)
    (-10.0, 20.0, -17.8606, -18),
    (0.0, 10.0, -3.3147, -3),
    (-20.0, 30.0, -32.5680, -33),
]


@pytest.mark.parametrize(("T", "V", "hand", "table"), HAND)
def test_wind_chill_inside_the_range_matches_hand_values(T, V, hand, table):
    got = feels_like(
        torch.tensor([T], dtype=torch.float64), torch.tensor([V / 3.6], dtype=torch.float64)
    )
    assert got.item() == pytest.approx(hand, abs=5e-4)
    assert round(got.item()) == table
    assert wind_chill(torch.tensor([T]), torch.tensor([V])).item() == pytest.approx(hand, abs=1e-3)


def test_outside_the_range_is_the_air_temperature():
    # 15 °C, 20 km/h: the formula would give 13.6853 (by hand) but T > 10 °C
    T = torch.tensor([15.0, 10.0, -5.0, 10.5], dtype=torch.float64)
    wind = torch.tensor([20.0, 20.0, 1.0, 5.0], dtype=torch.float64) / 3.6  # 1 km/h < 4.8: calm
    got = feels_like(T, wind)
    assert got[0].item() == 15.0 and got[2].item() == -5.0 and got[3].item() == 10.5
    assert got[1].item() < 10.0  # exactly 10 °C is inside (T ≤ 10)
    assert wind_chill(T[:1], wind[:1] * 3.6).item() == pytest.approx(13.6853, abs=5e-4)


def test_boundary_wind_is_inclusive_and_bad_input_is_named():
    T = torch.tensor([0.0, 0.0], dtype=torch.float64)
    got = feels_like(T, torch.tensor([4.8 / 3.6, 4.7 / 3.6], dtype=torch.float64))
    assert got[0].item() < 0.0 and got[1].item() == 0.0
    with pytest.raises(TypeError, match="T must have a floating dtype"):
        feels_like(torch.tensor([1, 2]), torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="shape"):
        feels_like(torch.zeros(3), torch.zeros(2))
