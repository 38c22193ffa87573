"""The demo community: forty contributors with deterministic, checksummed wallets.

Wallets are derived from the username (keccak-256, last 20 bytes, EIP-55 checksum) so the
demo is reproducible on every machine and nobody's real address ends up in the seed.
Nobody holds the private keys for these addresses; they exist only to show payouts.
"""

from __future__ import annotations

from functools import cache

from eth_utils import keccak, to_checksum_address

from .records import SeedContributor

# (username, display name) — written for the demo; any resemblance to real people is accidental.
_ROSTER: tuple[tuple[str, str], ...] = (
    ("ada_w", "Ada Whitcombe"),
    ("bram_k", "Bram Koenders"),
    ("chidi_o", "Chidi Okafor"),
    ("dana_r", "Dana Ruiz"),
    ("elif_s", "Elif Sancak"),
    ("farah_n", "Farah Nadeem"),
    ("gus_t", "Gus Tremblay"),
    ("hana_m", "Hana Morikawa"),
    ("ivo_p", "Ivo Petrov"),
    ("jules_b", "Jules Bertrand"),
    ("kemi_a", "Kemi Adeyemi"),
    ("lars_h", "Lars Holmqvist"),
    ("mira_v", "Mira Vasquez"),
    ("nico_d", "Nico Dalmasso"),
    ("oona_l", "Oona Lindqvist"),
    ("priya_s", "Priya Subramanian"),
    ("quinn_f", "Quinn Fairley"),
    ("rosa_g", "Rosa Galindo"),
    ("sami_k", "Sami Kallio"),
    ("tariq_h", "Tariq Haddad"),
    ("uma_c", "Uma Chandra"),
    ("vera_z", "Vera Zelenko"),
    ("wen_l", "Wen Liang"),
    ("xavi_m", "Xavi Moreno"),
    ("yara_b", "Yara Benali"),
    ("zeke_o", "Zeke Osei"),
    ("amara_j", "Amara Jallow"),
    ("bjorn_e", "Bjorn Eklund"),
    ("cleo_r", "Cleo Ravensworth"),
    ("dev_p", "Dev Patil"),
    ("esme_w", "Esme Wakefield"),
    ("finn_m", "Finn MacAllister"),
    ("greta_n", "Greta Nilsen"),
    ("hugo_a", "Hugo Arnaud"),
    ("ines_c", "Ines Carvalho"),
    ("jonah_t", "Jonah Thackeray"),
    ("kiri_w", "Kiri Waititi"),
    ("luca_f", "Luca Ferrante"),
    ("maya_e", "Maya Eskandari"),
    ("noor_q", "Noor Qureshi"),
)


def wallet_for(username: str) -> str:
    """Derive the demo wallet of a username: stable across runs, unique per username."""
    digest = keccak(text=f"modelfactory-seed:{username}")
    return to_checksum_address(digest[-20:])


@cache
def _contributors() -> tuple[SeedContributor, ...]:
    return tuple(
        SeedContributor(username=username, display_name=display_name, wallet_address=wallet_for(username))
        for username, display_name in _ROSTER
    )


def seed_contributors() -> list[SeedContributor]:
    """Every demo contributor, in a fixed order (the order datanet pools are drawn from)."""
    return list(_contributors())


def usernames() -> tuple[str, ...]:
    """Just the usernames, for attributing rows."""
    return tuple(username for username, _ in _ROSTER)
