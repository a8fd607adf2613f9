"""Every access test starts with no key, plan or origin remembered from another."""

import pytest

from stocks.access import keys


@pytest.fixture(autouse=True)
def _fresh_key_memory():
    keys.forget()
    yield
    keys.forget()
