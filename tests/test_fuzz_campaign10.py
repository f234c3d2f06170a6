"""Campaign 10's findings (issue 18), and the leftovers of earlier campaigns closed with them."""

from __future__ import annotations

import numpy as np
import pytest

from biorate._unit_convert import to_si
from biorate._unit_parse import TIME
from biorate.errors import UnitError


@pytest.mark.parametrize("value", [["300 ms"], ("300 ms",), [0.3], np.array([0.3]), []])
def test_a_scalar_quantity_refuses_a_list_of_one(value):
    """A one-element list passed as a single quantity (``duration = ["300 ms"]``) was accepted as
    its element; a scalar is a string, a number or a 0-d quantity."""
    with pytest.raises(UnitError, match="duration"):
        to_si(value, TIME, "duration")
    assert to_si("300 ms", TIME, "duration") == pytest.approx(0.3)
    assert to_si(np.float64(0.0), TIME, "duration") == 0.0
