"""The SSRF guard for URL fields: only public addresses pass."""

from __future__ import annotations

import ipaddress

import pytest

from ragline_common.errors import ValidationFailed
from ragline_gateway.domain.public_urls import public_addresses


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://172.16.0.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "ftp://8.8.8.8/",
        "file:///etc/passwd",
        "http://user:secret@8.8.8.8/",
        "/relative/path",
    ],
)
def test_urls_inside_the_network_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        public_addresses(url)
    assert refused.value.code == "unsafe_url"


def test_a_public_address_passes() -> None:
    assert public_addresses("https://8.8.8.8/path") == [ipaddress.ip_address("8.8.8.8")]
