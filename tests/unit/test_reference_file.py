"""Reference files: CSV and Parquet read alike, roles resolved, keys as live rows get them."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bot.core.errors import ValidationError
from bot.monitoring.reference.columns import read_columns, read_header
from bot.monitoring.reference.importances import parse_importances
from bot.monitoring.reference.load import load_reference
from bot.monitoring.reference.roles import Roles
from bot.quality.data import check_rows
from bot.quality.profile import CategoricalProfile, NumericProfile
from bot.quality.profile_dict import profile_from_dict, profile_to_dict

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "reference-fraud-scorer.csv"


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rows(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [",".join(header)]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def _error(excinfo: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    return excinfo.value.field, excinfo.value.detail


# --- CSV and Parquet -----------------------------------------------------------------------


def _same_data(tmp_path: Path) -> tuple[Path, Path]:
    """One dataset written as CSV (text) and as typed Parquet."""
    n = 60
    rng = np.random.default_rng(7)
    income = np.round(rng.normal(50_000, 9_000, n), 2)
    debt = np.round(rng.random(n), 3)
    age = rng.integers(18, 80, n)
    plan = [("basic", "pro", "team")[i % 3] for i in range(n)]
    plan[5] = None  # a missing category
    flag = [bool(i % 4 == 0) for i in range(n)]
    prediction = ["approve" if d < 0.6 else "deny" for d in debt]
    label = [
        p if i % 5 else ("deny" if p == "approve" else "approve") for i, p in enumerate(prediction)
    ]
    confidence = np.round(0.5 + rng.random(n) / 2, 3)
    income_cells: list[object] = [repr(float(v)) for v in income]
    income_cells[3] = ""  # a missing number
    header = ["id", "income", "debt", "age", "plan", "flag", "prediction", "confidence", "label"]
    rows = [
        [f"r{i}", income_cells[i], debt[i], age[i], plan[i], ("False", "True")[flag[i]], *tail]
        for i, tail in enumerate(zip(prediction, confidence, label, strict=True))
    ]
    csv_path = _csv(tmp_path / "ref.csv", _rows(header, rows))
    income_array = pa.array(income, mask=np.arange(n) == 3)
    table = pa.table(
        {
            "id": [f"r{i}" for i in range(n)],
            "income": income_array,
            "debt": debt,
            "age": pa.array(age, pa.int32()),
            "plan": pa.array(plan).dictionary_encode(),
            "flag": flag,
            "prediction": prediction,
            "confidence": confidence,
            "label": label,
        }
    )
    parquet_path = tmp_path / "ref.parquet"
    pq.write_table(table, parquet_path)
    return csv_path, parquet_path


def test_csv_and_parquet_of_the_same_data_give_the_same_profile(tmp_path: Path) -> None:
    csv_path, parquet_path = _same_data(tmp_path)
    from_csv, csv_summary = load_reference(csv_path, Roles())
    from_parquet, parquet_summary = load_reference(parquet_path, Roles())
    assert from_csv == from_parquet
    assert csv_summary == parquet_summary
    assert csv_summary.features == (
        ("income", "numeric"),
        ("debt", "numeric"),
        ("age", "numeric"),
        ("plan", "categorical"),
        ("flag", "categorical"),
    )
    income = from_csv.feature("income")
    assert isinstance(income, NumericProfile)
    assert (income.n, income.missing) == (59, 1)
    plan = from_csv.feature("plan")
    assert isinstance(plan, CategoricalProfile)
    assert plan.missing == 1
    flag = from_csv.feature("flag")
    assert isinstance(flag, CategoricalProfile)
    assert set(flag.categories) == {"true", "false"}  # JSON true/false keys, not "True"


def test_gzipped_csv_reads_like_plain_csv(tmp_path: Path) -> None:
    text = _rows(["x", "prediction"], [[1.5, "a"], [2.5, "b"], [3.5, "a"]])
    plain = _csv(tmp_path / "ref.csv", text)
    packed = tmp_path / "ref.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    assert load_reference(packed, Roles())[0] == load_reference(plain, Roles())[0]


def test_read_columns_gives_float_arrays_and_string_lists(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv",
        _rows(
            ["n", "s", "b", "spaced"],
            [[1, "a", "true", " 1"], ["NA", "null", "FALSE", " 2"], ["nan", "", "", "3 "]],
        ),
    )
    columns = read_columns(path)
    n = columns["n"]
    assert isinstance(n, np.ndarray)
    assert n.dtype == np.float64
    np.testing.assert_array_equal(n, [1.0, np.nan, np.nan])
    assert columns["s"] == ["a", None, None]
    assert columns["b"] == ["true", "false", None]
    spaced = columns["spaced"]
    assert isinstance(spaced, np.ndarray)  # "1, 2, 3" with spaces is still numbers
    np.testing.assert_array_equal(spaced, [1.0, 2.0, 3.0])
    assert read_header(path) == ("n", "s", "b", "spaced")
    assert list(read_columns(path, columns={"s", "n"})) == ["n", "s"]  # file order


def test_quoted_commas_and_newlines_stay_inside_their_cell(tmp_path: Path) -> None:
    path = _csv(tmp_path / "ref.csv", 'note,x\n"a, b",1\n"two\nlines",2\nplain,3\n')
    assert read_columns(path)["note"] == ["a, b", "two\nlines", "plain"]


# --- roles ---------------------------------------------------------------------------------


def test_conventional_column_names_take_their_roles(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv",
        _rows(
            ["id", "timestamp", "x", "prediction", "confidence", "label"],
            [
                [1, "2026-01-01T00:00:00Z", 0.5, "a", 0.9, "a"],
                [2, "2026-01-01T00:01:00Z", 1.5, "b", 0.8, "a"],
            ],
        ),
    )
    profile, summary = load_reference(path, Roles())
    assert profile.names == ("x",)
    assert profile.prediction is not None
    assert profile.confidence is not None
    assert (summary.id, summary.timestamp, summary.prediction) == ("id", "timestamp", "prediction")
    assert (summary.confidence, summary.label) == ("confidence", "label")
    assert summary.accuracy == 0.5
    assert summary.labelled == 2
    assert "label: label (reference accuracy 0.500 over 2 rows)" in summary.lines()


def test_explicit_roles_override_conventions(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv",
        _rows(
            ["txn", "x", "score", "p", "truth", "label", "note"],
            [[1, 0.5, 1, 0.9, 1, "spam", "n1"], [2, 1.5, 0, 0.7, 1, "ham", "n2"]],
        ),
    )
    roles = Roles(id="txn", prediction="score", confidence="p", label="truth", ignore=("note",))
    profile, summary = load_reference(path, roles)
    assert profile.names == ("x", "label")  # a named --label leaves "label" a feature
    assert (summary.id, summary.prediction, summary.confidence, summary.label) == (
        "txn",
        "score",
        "p",
        "truth",
    )
    assert summary.ignored == ("note",)
    assert summary.accuracy == 0.5


def test_ignoring_a_conventional_role_column_drops_it(tmp_path: Path) -> None:
    path = _csv(tmp_path / "ref.csv", _rows(["x", "label"], [[1, "a"], [2, "b"]]))
    profile, summary = load_reference(path, Roles(ignore=("label",)))
    assert profile.names == ("x",)
    assert summary.label is None
    assert summary.ignored == ("label",)


@pytest.mark.parametrize(
    ("roles", "field", "words"),
    [
        (Roles(prediction="score"), "--prediction", "no column 'score'"),
        (Roles(label="truth"), "--label", "no column 'truth'"),
        (Roles(ignore=("nope",)), "--ignore", "no column 'nope'"),
        (Roles(categorical=("nope",)), "--categorical", "no column 'nope'"),
        (Roles(prediction="x", label="x"), "--label", "already the prediction column"),
        (Roles(label="x", ignore=("x",)), "--ignore", "is the label column"),
        (Roles(categorical=("prediction",)), "--categorical", "not a feature"),
        (Roles(categorical=("x",), ignore=("x",)), "--categorical", "also ignored"),
    ],
)
def test_bad_roles_name_the_option(tmp_path: Path, roles: Roles, field: str, words: str) -> None:
    path = _csv(tmp_path / "ref.csv", _rows(["x", "y", "prediction"], [[1, 2, "a"]]))
    with pytest.raises(ValidationError) as excinfo:
        load_reference(path, roles)
    got_field, detail = _error(excinfo)
    assert got_field == field
    assert words in detail
    if "no column" in words:
        assert "its columns: x, y, prediction" in detail


def test_a_file_of_roles_only_has_no_features(tmp_path: Path) -> None:
    path = _csv(tmp_path / "ref.csv", _rows(["id", "prediction"], [[1, "a"]]))
    with pytest.raises(ValidationError, match="no feature columns") as excinfo:
        load_reference(path, Roles())
    assert excinfo.value.field == "file"


# --- categories as the live rows will key them ---------------------------------------------


def test_forced_categorical_codes_are_keyed_like_json_numbers(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv",
        _rows(
            ["mcc", "zip", "x"],
            [["5411.0", "00501", 1], ["7995", "90210", 2], ["", "02134", 3], ["5411", "", 4]],
        ),
    )
    profile, summary = load_reference(path, Roles(categorical=("mcc", "zip")))
    mcc = profile.feature("mcc")
    assert isinstance(mcc, CategoricalProfile)
    assert dict(zip(mcc.categories, mcc.counts, strict=True)) == {"5411": 2, "7995": 1}
    assert mcc.missing == 1
    zip_code = profile.feature("zip")
    assert isinstance(zip_code, CategoricalProfile)
    assert set(zip_code.categories) == {"00501", "90210", "02134"}  # leading zeros kept
    assert dict(summary.features) == {"mcc": "categorical", "zip": "categorical", "x": "numeric"}
    # Without --categorical the codes are numbers.
    unforced, _ = load_reference(path, Roles())
    assert isinstance(unforced.feature("mcc"), NumericProfile)


def test_live_rows_match_the_reference_categories(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv",
        _rows(
            ["id", "mcc", "flag", "amount", "prediction"],
            [[i, ("5411.0", "7995")[i % 2], ("True", "False")[i % 2], i, i % 2] for i in range(10)],
        ),
    )
    profile, _ = load_reference(path, Roles(categorical=("mcc",)))
    live = [
        {"id": "a", "prediction": 1, "features": {"mcc": 5411, "flag": True, "amount": 3}},
        {"id": "b", "prediction": 0, "features": {"mcc": "7995", "flag": False, "amount": 4.5}},
    ]
    check = check_rows(live, profile)
    assert (check.accepted, check.clean) == (2, 2)


# --- reference accuracy --------------------------------------------------------------------


def test_accuracy_compares_keys_across_numeric_and_text_columns(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv",
        _rows(
            ["x", "prediction", "label"],
            [[1, 1, "1"], [2, 0, "1"], [3, 1, "1"], [4, 0, "0"], [5, 1, "maybe"], [6, 0, ""]],
        ),
    )
    _, summary = load_reference(path, Roles())
    assert summary.labelled == 5  # the row without a label does not count
    assert summary.accuracy == pytest.approx(3 / 5)


def test_accuracy_of_numeric_prediction_and_label_columns(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv",
        _rows(["x", "prediction", "label"], [[1, 1, 1], [2, 0, 1], [3, 1, 1.0], [4, "", 0]]),
    )
    _, summary = load_reference(path, Roles())
    assert (summary.accuracy, summary.labelled) == (pytest.approx(2 / 3), 3)


def test_regression_prediction_has_no_accuracy(tmp_path: Path) -> None:
    rows = [[i, i * 0.37, i * 0.4] for i in range(40)]
    path = _csv(tmp_path / "ref.csv", _rows(["x", "prediction", "label"], rows))
    profile, summary = load_reference(path, Roles())
    assert isinstance(profile.prediction, NumericProfile)
    assert summary.accuracy is None
    assert summary.prediction_kind == "numeric"
    assert any("regression" in w for w in summary.warnings)


def test_disjoint_prediction_and_label_values_warn(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv",
        _rows(["x", "prediction", "label"], [[1, 1, "fraud"], [2, 0, "legit"]]),
    )
    _, summary = load_reference(path, Roles())
    assert summary.accuracy == 0.0
    assert any("same kind of value" in w for w in summary.warnings)


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("ref.txt", "x\n1\n", "must be a .csv (or .csv.gz) or .parquet file"),
        ("ref.csv", "", "is empty"),
        ("ref.csv", "\n\n", "is empty"),
        ("ref.csv", "x,y\n", "no data rows"),
        ("ref.csv", "x,y\n1,2\n3\n", "line 3 has 1 field but the header has 2 fields"),
        ("ref.csv", 'x,y\n"a\nb",2\n3,4,5\n', "line 4 has 3 fields but the header has 2"),
        ("ref.csv", "1.5,2\n3,4\n", "must be a header"),
        ("ref.csv", "x,x\n1,2\n", "repeated: x"),
        ("ref.csv", ",x\n0,2\n", "column 1 has no name"),
        ("ref.csv", "x;y\n1;2\n", "separated by commas"),
        ("ref.parquet", "not parquet", "is not a readable Parquet file"),
        ("ref.csv.gz", "not gzip", "cannot be read"),
    ],
)
def test_bad_files_are_refused_with_the_reason(
    tmp_path: Path, name: str, content: str, words: str
) -> None:
    path = _csv(tmp_path / name, content)
    with pytest.raises(ValidationError) as excinfo:
        load_reference(path, Roles())
    field, detail = _error(excinfo)
    assert field == "file"
    assert words in detail
    assert str(path) in detail


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no such file"):
        read_columns(tmp_path / "absent.csv")
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(ValidationError, match="is a directory"):
        read_columns(folder)


def test_non_utf8_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ref.csv"
    path.write_bytes("city,x\nMünchen,1\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8"):
        read_columns(path)


def test_pandas_default_column_names_are_a_header(tmp_path: Path) -> None:
    path = _csv(tmp_path / "ref.csv", "0,1\n0.5,a\n1.5,b\n")
    assert read_header(path) == ("0", "1")


def test_an_empty_feature_column_asks_to_be_ignored(tmp_path: Path) -> None:
    path = _csv(tmp_path / "ref.csv", _rows(["x", "blank"], [[1, ""], [2, "NA"]]))
    with pytest.raises(ValidationError, match="--ignore blank") as excinfo:
        load_reference(path, Roles())
    assert excinfo.value.field == "features.blank"
    assert load_reference(path, Roles(ignore=("blank",)))[0].names == ("x",)


def test_parquet_types_json_cannot_carry_are_refused_unless_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ref.parquet"
    stamps = pa.array([0, 60], pa.timestamp("s", tz="UTC"))
    pq.write_table(pa.table({"x": [1.0, 2.0], "seen": stamps, "tags": [[1], [2]]}), path)
    with pytest.raises(ValidationError, match=r"column 'seen' holds timestamp\[m?s, tz=UTC\]"):
        load_reference(path, Roles())
    profile, summary = load_reference(path, Roles(timestamp="seen", ignore=("tags",)))
    assert profile.names == ("x",)
    assert summary.timestamp == "seen"


def test_build_profile_errors_pass_through(tmp_path: Path) -> None:
    path = _csv(tmp_path / "ref.csv", _rows(["x", "confidence"], [[1, 0.5], [2, 1.5]]))
    with pytest.raises(ValidationError) as excinfo:
        load_reference(path, Roles())
    assert excinfo.value.field == "confidence"


# --- importances ---------------------------------------------------------------------------


def test_importances_inline_and_from_json(tmp_path: Path) -> None:
    assert parse_importances("income=0.31, debt_ratio=0.2,") == {"income": 0.31, "debt_ratio": 0.2}
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"income": 0.31, "debt_ratio": 2}))
    assert parse_importances(str(path)) == {"income": 0.31, "debt_ratio": 2.0}


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("income", "importances", "NAME=WEIGHT pairs"),
        ("income=high", "importances.income", "not a number"),
        ("income=1,income=2", "importances.income", "given twice"),
        ("income=inf", "importances.income", "finite"),
        ("=0.3", "importances", "is not NAME=WEIGHT"),
        ("missing.json", "importances", "no such file"),
    ],
)
def test_bad_inline_importances(text: str, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        parse_importances(text)
    assert excinfo.value.field == field
    assert words in excinfo.value.detail


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        ("[1, 2]", "importances", "JSON object"),
        ('{"income": ', "importances", "line 1 column"),
        ('{"income": "high"}', "importances.income", "must be a number"),
        ('{"income": true}', "importances.income", "must be a number"),
        ("{}", "importances", "names no feature"),
    ],
)
def test_bad_importance_files(tmp_path: Path, content: str, field: str, words: str) -> None:
    path = tmp_path / "weights.json"
    path.write_text(content)
    with pytest.raises(ValidationError) as excinfo:
        parse_importances(str(path))
    assert excinfo.value.field == field
    assert words in excinfo.value.detail


def test_importances_must_name_features(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "ref.csv", _rows(["x", "y", "note", "label"], [[1, 2, "a", 0], [2, 3, "b", 1]])
    )
    profile, _ = load_reference(path, Roles(ignore=("note",)), importances={"x": 0.7, "y": 0.3})
    assert profile.importances == {"x": 0.7, "y": 0.3}
    for name, words in (("label", "label column"), ("note", "ignored"), ("z", "not a column")):
        with pytest.raises(ValidationError, match=words) as excinfo:
            load_reference(path, Roles(ignore=("note",)), importances={name: 1.0})
        assert excinfo.value.field == f"importances.{name}"


# --- the sample file -----------------------------------------------------------------------


def test_the_sample_fraud_scorer_reference_loads() -> None:
    profile, summary = load_reference(FIXTURE, Roles())
    assert summary.rows == 500
    assert summary.features == (
        ("amount", "numeric"),
        ("account_age_days", "numeric"),
        ("hour", "numeric"),
        ("merchant_category", "categorical"),
    )
    assert (summary.id, summary.prediction, summary.confidence, summary.label) == (
        "id",
        "prediction",
        "confidence",
        "label",
    )
    assert summary.prediction_kind == "categorical"
    assert summary.accuracy == pytest.approx(0.868)
    assert summary.warnings == ()
    age = profile.feature("account_age_days")
    assert isinstance(age, NumericProfile)
    assert age.missing == 12
    merchant = profile.feature("merchant_category")
    assert isinstance(merchant, CategoricalProfile)
    assert set(merchant.categories) == {"grocery", "fuel", "electronics", "travel", "gaming"}
    round_trip = profile_from_dict(json.loads(json.dumps(profile_to_dict(profile))))
    assert round_trip == profile
