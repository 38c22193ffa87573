"""anvil's well-known development accounts: the operator, the demo's wallets and its contributors' on a
local chain.

These keys are published in every Foundry install and hold real value on no chain; anything sent to
their addresses on a public network is taken by bots within seconds. Use them with anvil only: on a real
chain the operator key comes from the environment or a keystore (docs/chain.md), never from the repo.

anvil derives its accounts from `ANVIL_MNEMONIC` at the HD path m/44'/60'/0'/0/i and funds each with
10,000 ETH for gas; it creates ten unless started with ``--accounts N``. The development stack starts it
with ``--accounts 64`` (`DEVELOPMENT_ACCOUNT_COUNT`: the Procfile's `chain` line, docker-compose.yml and
tests/support/anvil_node.py), so accounts 10 onwards can be handed to the demo's seed contributors as their
wallets (datanets/demo_seeding.py): the server holds their keys and claims their earnings for them.
"""

from __future__ import annotations

from functools import cache

from eth_account import Account

ANVIL_CHAIN_ID = 31337

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"

# How many accounts the development anvil is started with (`anvil --accounts 64`), hence how many
# development keys there are; tests/contracts/test_development_accounts.py checks that the Procfile,
# docker-compose.yml and the tests' anvil start it so and that these are the accounts it funds.
DEVELOPMENT_ACCOUNT_COUNT = 64

# anvil's accounts 0..9 from its default mnemonic (m/44'/60'/0'/0/i), the ones every anvil funds, written
# out so that the operator and the tests' wallets need no derivation; tests/contracts/
# test_development_accounts.py derives them again from the mnemonic.
ANVIL_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)

# The addresses of all `DEVELOPMENT_ACCOUNT_COUNT` accounts, written out because every wallet check looks
# them up (deriving 64 keys in eth_account's plain-Python BIP-32 takes about a second per process); the
# keys past the tenth are derived only when one is needed (`development_key`). tests/contracts/
# test_development_accounts.py derives every address again and compares them with anvil's `eth_accounts`.
DEVELOPMENT_ADDRESSES = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",  # 0
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",  # 1
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",  # 2
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",  # 3
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",  # 4
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",  # 5
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",  # 6
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",  # 7
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",  # 8
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",  # 9
    "0xBcd4042DE499D14e55001CcbB24a551F3b954096",  # 10
    "0x71bE63f3384f5fb98995898A86B02Fb2426c5788",  # 11
    "0xFABB0ac9d68B0B445fB7357272Ff202C5651694a",  # 12
    "0x1CBd3b2770909D4e10f157cABC84C7264073C9Ec",  # 13
    "0xdF3e18d64BC6A983f673Ab319CCaE4f1a57C7097",  # 14
    "0xcd3B766CCDd6AE721141F452C550Ca635964ce71",  # 15
    "0x2546BcD3c84621e976D8185a91A922aE77ECEc30",  # 16
    "0xbDA5747bFD65F08deb54cb465eB87D40e51B197E",  # 17
    "0xdD2FD4581271e230360230F9337D5c0430Bf44C0",  # 18
    "0x8626f6940E2eb28930eFb4CeF49B2d1F2C9C1199",  # 19
    "0x09DB0a93B389bEF724429898f539AEB7ac2Dd55f",  # 20
    "0x02484cb50AAC86Eae85610D6f4Bf026f30f6627D",  # 21
    "0x08135Da0A343E492FA2d4282F2AE34c6c5CC1BbE",  # 22
    "0x5E661B79FE2D3F6cE70F5AAC07d8Cd9abb2743F1",  # 23
    "0x61097BA76cD906d2ba4FD106E757f7Eb455fc295",  # 24
    "0xDf37F81dAAD2b0327A0A50003740e1C935C70913",  # 25
    "0x553BC17A05702530097c3677091C5BB47a3a7931",  # 26
    "0x87BdCE72c06C21cd96219BD8521bDF1F42C78b5e",  # 27
    "0x40Fc963A729c542424cD800349a7E4Ecc4896624",  # 28
    "0x9DCCe783B6464611f38631e6C851bf441907c710",  # 29
    "0x1BcB8e569EedAb4668e55145Cfeaf190902d3CF2",  # 30
    "0x8263Fce86B1b78F95Ab4dae11907d8AF88f841e7",  # 31
    "0xcF2d5b3cBb4D7bF04e3F7bFa8e27081B52191f91",  # 32
    "0x86c53Eb85D0B7548fea5C4B4F82b4205C8f6Ac18",  # 33
    "0x1aac82773CB722166D7dA0d5b0FA35B0307dD99D",  # 34
    "0x2f4f06d218E426344CFE1A83D53dAd806994D325",  # 35
    "0x1003ff39d25F2Ab16dBCc18EcE05a9B6154f65F4",  # 36
    "0x9eAF5590f2c84912A08de97FA28d0529361Deb9E",  # 37
    "0x11e8F3eA3C6FcF12EcfF2722d75CEFC539c51a1C",  # 38
    "0x7D86687F980A56b832e9378952B738b614A99dc6",  # 39
    "0x9eF6c02FB2ECc446146E05F1fF687a788a8BF76d",  # 40
    "0x08A2DE6F3528319123b25935C92888B16db8913E",  # 41
    "0xe141C82D99D85098e03E1a1cC1CdE676556fDdE0",  # 42
    "0x4b23D303D9e3719D6CDf8d172Ea030F80509ea15",  # 43
    "0xC004e69C5C04A223463Ff32042dd36DabF63A25a",  # 44
    "0x5eb15C0992734B5e77c888D713b4FC67b3D679A2",  # 45
    "0x7Ebb637fd68c523613bE51aad27C35C4DB199B9c",  # 46
    "0x3c3E2E178C69D4baD964568415a0f0c84fd6320A",  # 47
    "0x35304262b9E87C00c430149f28dD154995d01207",  # 48
    "0xD4A1E660C916855229e1712090CcfD8a424A2E33",  # 49
    "0xEe7f6A930B29d7350498Af97f0F9672EaecbeeFf",  # 50
    "0x145e2dc5C8238d1bE628F87076A37d4a26a78544",  # 51
    "0xD6A098EbCc5f8Bd4e174D915C54486B077a34A51",  # 52
    "0x042a63149117602129B6922ecFe3111168C2C323",  # 53
    "0xa0EC9eE47802CeB56eb58ce80F3E41630B771b04",  # 54
    "0xe8B1ff302A740fD2C6e76B620d45508dAEc2DDFf",  # 55
    "0xAb707cb80e7de7C75d815B1A653433F3EEc44c74",  # 56
    "0x0d803cdeEe5990f22C2a8DF10A695D2312dA26CC",  # 57
    "0x1c87Bb9234aeC6aDc580EaE6C8B59558A4502220",  # 58
    "0x4779d18931B35540F84b0cd0e9633855B84df7b8",  # 59
    "0xC0543b0b980D8c834CBdF023b2d2A75b5f9D1909",  # 60
    "0x73B3074ac649A8dc31c2C90a124469456301a30F",  # 61
    "0x265188114EB5d5536BC8654d8e9710FE72C28c4d",  # 62
    "0x924Ba5Ce9f91ddED37b4ebf8c0dc82A40202fc0A",  # 63
)

DEVELOPMENT_OPERATOR_KEY = ANVIL_KEYS[0]
# The demo's depositor: `manage.py demo_deposit` mints OPEN to it and pays that into a user's vault account
# (a user's generated development wallet has no key, so it cannot send the deposit itself).
DEVELOPMENT_DEPOSITOR_KEY = ANVIL_KEYS[9]
# Accounts from here on are nobody's in the code: seeding gives them to the demo's contributors, in order.
FIRST_CONTRIBUTOR_ACCOUNT = len(ANVIL_KEYS)


def address_of(key: str) -> str:
    return Account.from_key(key).address


def derive_development_key(index: int) -> str:
    """anvil's key at `index`, derived from its mnemonic (m/44'/60'/0'/0/index), as 0x-hex."""
    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{int(index)}")
    return account.key.to_0x_hex()


@cache
def development_key(index: int) -> str:
    """The private key of development account `index` (0 ≤ index < `DEVELOPMENT_ACCOUNT_COUNT`).

    The first ten are the written-out `ANVIL_KEYS`; the others are derived from anvil's mnemonic when
    first needed (some milliseconds each: eth_account's BIP-32 is plain Python) and kept.
    """
    if not 0 <= index < DEVELOPMENT_ACCOUNT_COUNT:
        raise IndexError(
            f"development account {index} does not exist: anvil is started with "
            f"{DEVELOPMENT_ACCOUNT_COUNT} accounts (0 to {DEVELOPMENT_ACCOUNT_COUNT - 1})"
        )
    return ANVIL_KEYS[index] if index < len(ANVIL_KEYS) else derive_development_key(index)


def development_address(index: int) -> str:
    """The checksummed address of development account `index`."""
    if not 0 <= index < DEVELOPMENT_ACCOUNT_COUNT:
        raise IndexError(f"development account {index} does not exist (0 to {DEVELOPMENT_ACCOUNT_COUNT - 1})")
    return DEVELOPMENT_ADDRESSES[index]


_INDEXES_BY_ADDRESS = {address.lower(): index for index, address in enumerate(DEVELOPMENT_ADDRESSES)}


def development_index_of(address: str) -> int | None:
    """Which development account `address` is (any spelling), or None when it is none of them."""
    return _INDEXES_BY_ADDRESS.get((address or "").strip().lower())


def development_key_of(address: str) -> str | None:
    """The private key of `address` when it is a development account, else None."""
    index = development_index_of(address)
    return None if index is None else development_key(index)


def development_addresses() -> frozenset[str]:
    """Every development account's address, lowercased: their keys ship with every Foundry install."""
    return frozenset(_INDEXES_BY_ADDRESS)
