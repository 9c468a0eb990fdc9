"""Generated config.pbtxt files equal the golden files (OVTRITON_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ovtriton.converter import ConversionOptions, convert
from ovtriton.converter.pbtxt import from_text, to_text

from tests.unit.converter.golden_cases import CASES

GOLDEN = Path(__file__).parent / "golden"  # written with cores=0: the same on every machine


@pytest.mark.parametrize("case", sorted(CASES))
def test_convert_writes_golden_configs_when_given_case(case: str, tmp_path: Path) -> None:
    config = CASES[case](tmp_path / "ovms")
    summary = convert(config, tmp_path / "repo", options=ConversionOptions(cores=0))
    written = {p.parent.name: p.read_text() for p in (tmp_path / "repo").glob("*/config.pbtxt")}
    assert set(written) == {m.name for m in summary.plan.models}
    golden_dir = GOLDEN / case
    if os.environ.get("OVTRITON_UPDATE_GOLDEN"):
        golden_dir.mkdir(parents=True, exist_ok=True)
        for stale in golden_dir.glob("*.pbtxt"):
            stale.unlink()
        for name, text in written.items():
            (golden_dir / f"{name}.pbtxt").write_text(text)
    expected = {p.stem: p.read_text() for p in golden_dir.glob("*.pbtxt")}
    assert written == expected


@pytest.mark.parametrize(
    "golden", sorted(GOLDEN.glob("*/*.pbtxt")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_golden_config_round_trips_through_protobuf(golden: Path) -> None:
    text = golden.read_text()
    config = from_text(text)
    assert config.name == golden.stem
    assert to_text(config) == text
