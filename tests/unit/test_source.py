"""Webhook source controls: CIDR allowlist and trusted proxies (SPEC §4.2)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.policy.source import SourcePolicy

pytestmark = pytest.mark.unit

META_V4 = "31.13.24.0/21"
META_V6 = "2a03:2880::/32"
PROXIES = ["10.0.0.0/8", "fd00::/8"]


@pytest.fixture
def policy() -> SourcePolicy:
    return SourcePolicy(allow_cidrs=[META_V4, META_V6], trusted_proxies=PROXIES)


def test_no_lists_allow_everything_and_ignore_forwarded_for() -> None:
    open_policy = SourcePolicy(allow_cidrs=[], trusted_proxies=[])
    assert open_policy.client_ip("203.0.113.9", "31.13.24.7") == "203.0.113.9"
    assert open_policy.allowed("203.0.113.9")
    assert open_policy.allowed(None)
    assert open_policy.allowed("not an ip")


def test_allowlist_admits_inside_and_refuses_outside(policy: SourcePolicy) -> None:
    assert policy.allowed("31.13.24.1")
    assert policy.allowed("31.13.31.255")
    assert not policy.allowed("31.13.32.0")
    assert not policy.allowed("203.0.113.9")


def test_allowlist_with_many_prefix_lengths_and_single_addresses() -> None:
    allow = ["192.0.2.7", "198.51.100.0/24", "203.0.113.128/25", "0.0.0.0/32", "2001:db8::1"]
    policy = SourcePolicy(allow_cidrs=allow, trusted_proxies=[])
    assert policy.allowed("192.0.2.7")
    assert not policy.allowed("192.0.2.8")
    assert policy.allowed("198.51.100.200")
    assert policy.allowed("203.0.113.200")
    assert not policy.allowed("203.0.113.1")
    assert policy.allowed("2001:db8::1")
    assert not policy.allowed("2001:db8::2")


def test_ipv6_allowlist(policy: SourcePolicy) -> None:
    assert policy.allowed("2a03:2880:f12f:83:face:b00c:0:25de")
    assert not policy.allowed("2a03:2881::1")
    assert policy.client_ip("2a03:2880:0000::0001", None) == "2a03:2880::1"


def test_ipv4_mapped_ipv6_is_treated_as_ipv4(policy: SourcePolicy) -> None:
    assert policy.client_ip("::ffff:31.13.24.7", None) == "31.13.24.7"
    assert policy.allowed("::ffff:31.13.24.7")
    assert not policy.allowed("::ffff:203.0.113.9")
    # A mapped peer that is a trusted proxy still gets its X-Forwarded-For read.
    assert policy.client_ip("::ffff:10.1.1.1", "31.13.24.7") == "31.13.24.7"


def test_mapped_networks_in_the_config_match_ipv4_clients() -> None:
    policy = SourcePolicy(allow_cidrs=["::ffff:198.51.100.0/120"], trusted_proxies=[])
    assert policy.allowed("198.51.100.9")
    assert not policy.allowed("198.51.101.9")


def test_forwarded_for_from_a_trusted_proxy_names_the_client(policy: SourcePolicy) -> None:
    assert policy.client_ip("10.1.2.3", "31.13.24.7") == "31.13.24.7"
    assert policy.client_ip("fd00::5", "2a03:2880::9") == "2a03:2880::9"


def test_forwarded_for_is_walked_from_the_right_past_our_proxies(policy: SourcePolicy) -> None:
    # client (spoofed first hop) → edge proxy 10.9.9.9 → ingress 10.1.2.3 → us
    assert policy.client_ip("10.1.2.3", "1.2.3.4, 31.13.24.7, 10.9.9.9") == "31.13.24.7"
    assert policy.client_ip("10.1.2.3", "203.0.113.5,31.13.24.7") == "31.13.24.7"


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(policy: SourcePolicy) -> None:
    ip = policy.client_ip("203.0.113.9", "31.13.24.7")
    assert ip == "203.0.113.9"
    assert not policy.allowed(ip)


def test_spoofed_leftmost_hop_cannot_pass_the_allowlist(policy: SourcePolicy) -> None:
    ip = policy.client_ip("10.1.2.3", "31.13.24.7, 203.0.113.9")
    assert ip == "203.0.113.9"
    assert not policy.allowed(ip)


def test_every_forwarded_for_line_is_read_from_the_last_one_back(policy: SourcePolicy) -> None:
    # The client wrote the first line itself; our proxy appended the second.
    assert policy.client_ip("10.1.2.3", ["31.13.24.7", "203.0.113.9"]) == "203.0.113.9"
    assert policy.client_ip("10.1.2.3", ["31.13.24.7", "203.0.113.9, 10.4.5.6"]) == "203.0.113.9"
    # Trusted hops in a later line lead back into the earlier ones.
    assert policy.client_ip("10.1.2.3", ["31.13.24.7, 10.7.7.7", "10.8.8.8"]) == "31.13.24.7"
    assert policy.client_ip("10.1.2.3", ["10.7.7.7", "10.8.8.8"]) == "10.7.7.7"
    assert policy.client_ip("10.1.2.3", ["31.13.24.7", "junk"]) is None
    assert policy.client_ip("10.1.2.3", []) == "10.1.2.3"


def test_all_hops_trusted_gives_the_leftmost(policy: SourcePolicy) -> None:
    assert policy.client_ip("10.1.2.3", "10.7.7.7, 10.8.8.8") == "10.7.7.7"


def test_missing_or_empty_forwarded_for_gives_the_peer(policy: SourcePolicy) -> None:
    assert policy.client_ip("10.1.2.3", None) == "10.1.2.3"
    assert policy.client_ip("10.1.2.3", "") == "10.1.2.3"


def test_ports_and_brackets_written_by_proxies_are_understood(policy: SourcePolicy) -> None:
    assert policy.client_ip("10.1.2.3", "31.13.24.7:51234") == "31.13.24.7"
    assert policy.client_ip("10.1.2.3", "[2a03:2880::9]:443") == "2a03:2880::9"
    assert policy.client_ip("10.1.2.3", "[2a03:2880::9]") == "2a03:2880::9"
    assert policy.client_ip("[fd00::1]:8443", "31.13.24.7") == "31.13.24.7"


@pytest.mark.parametrize(
    ("remote", "forwarded"),
    [
        ("", None),
        ("not-an-ip", None),
        ("999.1.1.1", None),
        ("010.1.1.1", None),
        ("10.1.2.3", "31.13.24.7, junk"),
        ("10.1.2.3", "31.13.24.7,,10.9.9.9"),
        ("10.1.2.3", "31.13.24.7:port"),
        ("10.1.2.3", "[2a03:2880::9"),
        ("10.1.2.3", "[2a03:2880::9]x"),
        ("10.1.2.3", "1" * 100),
        ("10.1.2.3", "unknown"),
    ],
)
def test_garbage_gives_no_client(policy: SourcePolicy, remote: str, forwarded: str | None) -> None:
    ip = policy.client_ip(remote, forwarded)
    assert ip is None
    assert not policy.allowed(ip)


def test_garbage_after_an_untrusted_hop_is_never_read(policy: SourcePolicy) -> None:
    assert policy.client_ip("10.1.2.3", "junk, 31.13.24.7") == "31.13.24.7"


def test_unparsable_ip_is_denied_when_an_allowlist_is_set(policy: SourcePolicy) -> None:
    assert not policy.allowed(None)
    assert not policy.allowed("")
    assert not policy.allowed("31.13.24")


@pytest.mark.parametrize(
    ("allow", "proxies", "bad"),
    [
        (["31.13.24.0/33"], [], "31.13.24.0/33"),
        (["meta"], [], "meta"),
        ([], ["10.0.0.1/8"], "10.0.0.1/8"),
        ([], ["2001:db8::/129"], "2001:db8::/129"),
    ],
)
def test_bad_entries_fail_at_construction_naming_the_entry(
    allow: list[str], proxies: list[str], bad: str
) -> None:
    with pytest.raises(ValueError, match=bad.replace(".", r"\.")) as caught:
        SourcePolicy(allow_cidrs=allow, trusted_proxies=proxies)
    assert ("allow_cidrs" if allow else "trusted_proxies") in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.none() | st.text(max_size=200))
def test_arbitrary_text_never_raises(remote: str, forwarded: str | None) -> None:
    policy = SourcePolicy(allow_cidrs=[META_V4], trusted_proxies=PROXIES)
    ip = policy.client_ip(remote, forwarded)
    assert ip is None or isinstance(ip, str)
    assert isinstance(policy.allowed(ip), bool)
    assert isinstance(policy.allowed(remote), bool)


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses())
def test_any_address_round_trips_and_matches_the_ipaddress_module(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    policy = SourcePolicy(allow_cidrs=[META_V4, META_V6], trusted_proxies=[])
    text = str(address)
    parsed = ipaddress.ip_address(text)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    assert policy.client_ip(text, None) == str(parsed)
    expected = any(
        parsed in ipaddress.ip_network(net)
        for net in (META_V4, META_V6)
        if ipaddress.ip_network(net).version == parsed.version
    )
    assert policy.allowed(text) is expected
