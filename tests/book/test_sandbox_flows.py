"""The end-to-end flows, live against the in-process sandbox over real HTTP."""

import pytest
from stripe_flows import FLOWS, Env


@pytest.mark.parametrize("name", FLOWS)
def test_flow(name, new_runtime):
    FLOWS[name](Env(new_runtime))
