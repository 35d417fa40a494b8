"""One board of the farm: labgrid's pytest plugin connects to the place named by LG_PLACE
(--lg-env env.yaml), the strategy flashes LG_FIRMWARE with espcheck and grades what the board
prints. The farm's trouble (exit 2 or 4: port, network, flashing; or a signal) is a pytest
ERROR; the firmware's verdict (exit 1, 3, 5) is a FAILED test.

    labgrid-client -p "$LG_PLACE" acquire
    LG_FIRMWARE=build/app.bin pytest --lg-env env.yaml --junitxml=pytest.xml test_board.py
    labgrid-client -p "$LG_PLACE" release
"""

import pytest
from labgrid.strategy import StrategyError


@pytest.fixture(scope="module")
def graded(strategy):
    try:
        strategy.transition("running")
    except StrategyError:
        result = strategy.result
        if result is None or result.outcome not in ("fail", "timeout", "fault"):
            raise  # never reached the board's verdict: an error of the farm
    return strategy.result


def test_board_passes(graded):
    print(f"espcheck: {graded.summary}; reports {graded.junit} {graded.json}")
    assert graded.passed, graded.summary
    assert graded.verdict["verdict"] == "pass"
