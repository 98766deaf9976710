"""Every test gets its own kbooks home, so no test can touch real credentials."""

import pytest


@pytest.fixture(autouse=True)
def _private_home(kbooks_home):
    return kbooks_home
