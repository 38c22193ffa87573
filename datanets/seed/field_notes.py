"""`field-notes`: entries from a fictional naturalists' journal, as plain text.

The Wrenmoor Naturalists' Circle, its parish and its members are invented; the wildlife is
real and behaves as it does in a temperate north-western European year (swallows arrive in
April and gather on wires in September, frogs spawn in February and March, redwings come
for the winter). Each entry is dated, placed, given weather that fits the season, and
only mentions species in months and habitats where they would really be seen.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass

from .sampling import draw_unique

# A line of text, optionally restricted to the months it is true in.
Seasonal = str | tuple[str, tuple[int, ...]]


def in_season(lines: tuple[Seasonal, ...], month: int) -> list[str]:
    """The lines that are true in `month` (unrestricted lines are true all year)."""
    fitting = []
    for line in lines:
        if isinstance(line, str):
            fitting.append(line)
        elif month in line[1]:
            fitting.append(line[0])
    return fitting


@dataclass(frozen=True)
class Species:
    """A species with the months and habitats it can be recorded in, and what observers write about it."""

    name: str
    months: tuple[int, ...]
    habitats: tuple[str, ...]
    sightings: tuple[Seasonal, ...]  # {n} -> a count in words
    remarks: tuple[Seasonal, ...]
    counts: tuple[int, int] = (1, 1)


ALL_YEAR = tuple(range(1, 13))

# place -> habitats found there
PLACES: dict[str, tuple[str, ...]] = {
    "Alder Fen": ("wetland", "water", "woodland"),
    "Greyscar Ridge": ("heath", "grassland", "upland"),
    "the Millbrook water meadows": ("grassland", "water", "wetland"),
    "Hollins Wood": ("woodland",),
    "the old quarry pond": ("water", "wetland"),
    "the saltings at Cray Point": ("coast", "wetland"),
    "Heather Common": ("heath", "grassland"),
    "Church Lane hedgerows": ("hedgerow", "village", "farmland"),
    "Top Field": ("farmland", "grassland"),
    "the vicarage garden": ("village", "garden"),
    "Withy Beck": ("water", "woodland"),
    "Long Barrow Down": ("grassland", "upland"),
}

SPECIES: tuple[Species, ...] = (
    Species(
        "swallow",
        (4, 5, 6, 7, 8, 9),
        ("water", "farmland", "village", "wetland"),
        (
            "{n} swallows hawking low, snapping up midges.",
            ("Swallows, {n}, gathering mud at the edge of the puddles by the gate.", (5, 6, 7)),
            (
                "{n} swallows lined up on the wires above the lane, twittering — getting ready to leave.",
                (8, 9),
            ),
        ),
        (
            ("They will be back in Africa by the autumn.", (4, 5, 6, 7)),
            "The forked tail streamers were very long on one bird — surely a male.",
            "They feed lower when the air is cool and damp, following the insects down.",
        ),
        (2, 14),
    ),
    Species(
        "swift",
        (5, 6, 7, 8),
        ("village", "water"),
        (
            "A screaming party of {n} swifts racing low overhead.",
            "{n} swifts high over the water, little more than black sickles against the cloud.",
        ),
        (
            "Swifts do almost everything on the wing — feeding, drinking, even sleeping.",
            "They are usually gone again by mid-August; every sighting feels borrowed.",
        ),
        (3, 20),
    ),
    Species(
        "cuckoo",
        (4, 5, 6),
        ("heath", "wetland", "woodland", "grassland"),
        (
            "A cuckoo calling in the distance, over and over.",
            "Heard a cuckoo at first light; then saw it fly, long-tailed and hawk-like, low across the open "
            "ground.",
        ),
        (
            "The female lays in the nests of meadow pipits and reed warblers here.",
            "The call is only the male's; the female has a bubbling chuckle.",
        ),
    ),
    Species(
        "chiffchaff",
        (3, 4, 5, 6, 7, 8, 9),
        ("woodland", "hedgerow", "wetland"),
        (
            "A chiffchaff singing its name from the top of a sallow.",
            "{n} chiffchaffs flicking through the willows, dipping their tails.",
        ),
        (
            "Usually the first migrant song of spring in the parish.",
            "Told from the willow warbler by its song rather than its plumage.",
        ),
        (1, 4),
    ),
    Species(
        "blackbird",
        ALL_YEAR,
        ("garden", "village", "woodland", "hedgerow"),
        (
            ("A blackbird singing from a high perch at dusk.", (2, 3, 4, 5, 6, 7)),
            (
                "A male blackbird tossing dead leaves aside under the hedge, searching for worms.",
                (10, 11, 12, 1, 2, 3),
            ),
            "{n} blackbirds feeding on the grass, each defending its own patch.",
        ),
        (
            (
                "The song is slow and mellow, with pauses, unlike the thrush's repeated phrases.",
                (2, 3, 4, 5, 6, 7),
            ),
            "Females are brown, not black — a surprise to some new members.",
        ),
        (2, 6),
    ),
    Species(
        "robin",
        ALL_YEAR,
        ("garden", "woodland", "hedgerow", "village"),
        (
            ("A robin singing thinly from the holly, even in this weather.", (10, 11, 12, 1, 2)),
            ("A robin singing from the fence post, loud and clear.", (3, 4, 5, 6)),
            "A robin followed me along the path, watching for anything my boots turned up.",
        ),
        (
            "Robins sing in winter as well as spring; both sexes hold territories in winter.",
            ("The winter song is wistful and softer than the spring song.", (10, 11, 12, 1, 2)),
            ("Quiet now while they moult; they keep out of sight in late summer.", (7, 8)),
        ),
    ),
    Species(
        "song thrush",
        (1, 2, 3, 4, 5, 6, 7, 10, 11, 12),
        ("garden", "woodland", "hedgerow"),
        (
            (
                "A song thrush repeating each phrase two or three times from the top of an ash.",
                (1, 2, 3, 4, 5, 6, 11, 12),
            ),
            "Found a song thrush's anvil: a flat stone ringed with broken snail shells.",
        ),
        (
            (
                "The repeated phrases are the easiest way to tell it from a blackbird.",
                (1, 2, 3, 4, 5, 6, 11, 12),
            ),
            "The neat dark spots on the breast set it apart from the larger mistle thrush.",
            "Banded snails seem to be its favourite in this garden.",
        ),
    ),
    Species(
        "redwing",
        (10, 11, 12, 1, 2, 3),
        ("hedgerow", "farmland", "woodland"),
        (
            "{n} redwings stripping the hawthorn berries along the hedge.",
            "A flock of about {n} redwings moving through the field, the red flanks showing when they "
            "turned.",
            "Heard redwings passing over in the dark — thin 'seep' calls every few seconds.",
        ),
        (
            "Winter visitors from Scandinavia; the creamy eyebrow stripe is the easiest mark.",
            ("They arrived with the first cold north-easterly, as they do most years.", (10, 11)),
            ("They will be heading back north-east within weeks.", (3,)),
        ),
        (10, 80),
    ),
    Species(
        "fieldfare",
        (10, 11, 12, 1, 2, 3),
        ("farmland", "hedgerow", "grassland"),
        (
            "A chacking flock of {n} fieldfares out on the stubble.",
            "{n} fieldfares in the orchard, squabbling over windfall apples.",
        ),
        (
            "Big, grey-headed thrushes, always restless and noisy.",
            "They often travel with redwings; today the two species were feeding side by side.",
        ),
        (12, 120),
    ),
    Species(
        "barn owl",
        ALL_YEAR,
        ("grassland", "farmland", "wetland"),
        (
            "A barn owl quartering the rough grass at dusk, pale as paper.",
            "Barn owl hunting along the field margin at dusk; it dropped into the grass twice and rose "
            "empty-footed.",
        ),
        (
            "It flies in complete silence thanks to its soft-edged feathers.",
            "Voles are the staple here; the long grass margins matter more than anything.",
        ),
    ),
    Species(
        "kingfisher",
        ALL_YEAR,
        ("water",),
        (
            "A kingfisher shot past, low and straight over the water — a flash of electric blue.",
            "Kingfisher perched on the dead branch over the water, then dived and came up with a minnow.",
        ),
        (
            "The orange underside is as striking as the blue back when it perches.",
            "Kingfishers beat a fish against their perch before swallowing it head first.",
        ),
    ),
    Species(
        "grey heron",
        ALL_YEAR,
        ("water", "wetland", "coast"),
        (
            "A grey heron standing motionless in the shallows for the whole half hour I watched.",
            "{n} grey herons flapping slowly over, necks tucked in, legs trailing.",
        ),
        (
            "Herons fly with the neck drawn back; egrets and cranes look quite different in flight.",
            "Herons will stand for an hour at a time, waiting for a fish to come within reach.",
        ),
        (1, 3),
    ),
    Species(
        "lapwing",
        (2, 3, 4, 5, 10, 11, 12, 1),
        ("farmland", "grassland", "wetland"),
        (
            ("Lapwings displaying over the open ground: tumbling flights and 'pee-wit' calls.", (3, 4, 5)),
            (
                "A flock of {n} lapwings out on the open ground, crests blowing in the wind.",
                (10, 11, 12, 1, 2),
            ),
            ("A pair of lapwings calling anxiously as I passed — there must be a nest nearby.", (4, 5)),
        ),
        (
            "Far fewer than the old members remember; the wet hollows are where they hang on.",
            ("The broad, rounded wings make a soft throbbing sound in display.", (3, 4, 5)),
            ("The winter flocks wheel up together at the slightest disturbance.", (10, 11, 12, 1, 2)),
        ),
        (6, 90),
    ),
    Species(
        "skylark",
        (2, 3, 4, 5, 6, 7),
        ("grassland", "farmland", "upland", "heath"),
        (
            "A skylark singing high overhead, barely a speck, the song pouring down without a break.",
            "{n} skylarks rising from the grass and climbing into song.",
        ),
        (
            "Songflights can last several minutes; this one came down after about three.",
            "It nests on the ground, so we keep to the path here in spring.",
        ),
        (2, 5),
    ),
    Species(
        "buzzard",
        ALL_YEAR,
        ("woodland", "farmland", "upland"),
        (
            "A buzzard soaring in slow circles overhead, mewing.",
            "{n} buzzards circling together on a thermal.",
        ),
        (
            "Once scarce here, now our commonest large bird of prey.",
            "The broad wings were held in a shallow V as it soared.",
        ),
        (1, 4),
    ),
    Species(
        "long-tailed tit",
        ALL_YEAR,
        ("woodland", "hedgerow", "garden"),
        (
            "A party of {n} long-tailed tits bouncing through the hedge, calling all the time.",
            ("Long-tailed tits building: a domed nest of moss, lichen and cobweb in the gorse.", (3, 4)),
        ),
        (
            ("They roost huddled together in a row in cold weather.", (11, 12, 1, 2)),
            "Their nests are lined with hundreds of feathers.",
            "The tail is longer than the rest of the bird.",
        ),
        (5, 16),
    ),
    Species(
        "curlew",
        (8, 9, 10, 11, 12, 1, 2, 3),
        ("coast",),
        (
            "{n} curlews probing the mud with their long down-curved bills.",
            "The bubbling call of a curlew carried across the saltings as the tide turned.",
        ),
        (
            "Our wintering birds come in from the uplands and further north.",
            "The bill of the female is noticeably longer than the male's.",
        ),
        (3, 40),
    ),
    Species(
        "hedgehog",
        (4, 5, 6, 7, 8, 9, 10),
        ("garden", "village", "hedgerow"),
        (
            "A hedgehog snuffling across the lawn after dark, quite unbothered by the torch.",
            "Hedgehog droppings on the path — black, glossy and full of beetle wing-cases.",
        ),
        (
            "It will hibernate from about November; the log pile by the shed may suit it.",
            "We left a gap under the fence so it can pass between gardens.",
        ),
    ),
    Species(
        "badger",
        ALL_YEAR,
        ("woodland", "hedgerow"),
        (
            "Fresh spoil outside the badger sett, with old bedding dragged out beside it.",
            "Watched a badger emerge from the sett at dusk, sniff the air and trundle off along its path.",
            "Badger latrine by the wood edge: a row of small dug pits.",
        ),
        (
            "The worn path under the fence is unmistakably theirs.",
            "Badgers eat mostly earthworms, especially on mild, damp nights.",
        ),
    ),
    Species(
        "red fox",
        ALL_YEAR,
        ("woodland", "farmland", "village"),
        (
            "A fox trotting past in broad daylight, pausing every few yards to listen.",
            ("Heard a vixen screaming from the wood after midnight — an eerie sound.", (12, 1, 2)),
        ),
        (
            ("The screaming is most often heard in winter, in the mating season.", (12, 1, 2)),
            ("Cubs will be above ground by now, playing at the earth in the evenings.", (5, 6)),
            "Foxes pounce like cats, nose-first into the grass, when hunting voles.",
        ),
    ),
    Species(
        "roe deer",
        ALL_YEAR,
        ("woodland", "farmland"),
        (
            "{n} roe deer at the edge of the wood, grey-brown, white rumps flashing as they bounded off.",
            "A roe buck barking repeatedly from the wood — a gruff, dog-like call.",
        ),
        (
            "Roe are small and shy; the white rump patch is usually all we see.",
            "The bucks cast their antlers in late autumn and grow new ones over the winter.",
        ),
        (1, 4),
    ),
    Species(
        "brown hare",
        (2, 3, 4, 5, 6, 7, 8, 9, 10),
        ("farmland", "grassland"),
        (
            (
                "Two brown hares boxing in the middle of the field — the female fending off the male.",
                (2, 3, 4),
            ),
            "A brown hare loping across the field, stopping to sit up on its long hind legs.",
            "A hare crouched in its form, ears flat, until I was almost on it.",
        ),
        (
            ("The 'boxing' is usually a female rebuffing an over-eager male.", (2, 3, 4)),
            "Black-tipped ears and long legs set it apart from a rabbit.",
        ),
    ),
    Species(
        "otter",
        ALL_YEAR,
        ("water",),
        (
            "Otter spraint on the flat rock under the bridge, smelling faintly of jasmine tea.",
            "Fresh otter tracks in the mud: five toes, webbed, and a tail drag.",
        ),
        (
            "Proof that otters are using the beck again, after decades away.",
            "We have not seen the animal itself — only the signs it leaves.",
        ),
    ),
    Species(
        "pipistrelle bat",
        (4, 5, 6, 7, 8, 9, 10),
        ("village", "water", "garden", "woodland"),
        (
            "Pipistrelles hunting at dusk, {n} at least, jinking after moths.",
            "The bat detector crackled with pipistrelles just after sunset.",
        ),
        (
            "A single pipistrelle can eat thousands of tiny insects in a night.",
            "They emerged about twenty minutes after sunset, as usual.",
        ),
        (2, 8),
    ),
    Species(
        "common frog",
        (2, 3),
        ("water", "wetland", "garden"),
        (
            "Frogspawn in the shallows — {n} clumps, some laid on top of each other.",
            "Common frogs croaking quietly in the pond; a male clinging to a female.",
        ),
        (
            "Spawning here usually follows the first mild, wet nights of the year.",
            "A frost could still kill the spawn at the surface.",
        ),
        (3, 25),
    ),
    Species(
        "common toad",
        (3, 4),
        ("water", "wetland"),
        (
            "Toads on the move to the pond after dark, {n} counted crossing the lane.",
            "Toad spawn in long strings wound around the water plants.",
        ),
        (
            "Toads return to the pond where they were born, year after year.",
            "Toad spawn is laid in strings, frog spawn in clumps.",
        ),
        (5, 60),
    ),
    Species(
        "grass snake",
        (4, 5, 6, 7, 8, 9),
        ("water", "wetland"),
        (
            "A grass snake swimming across the water, head held just above the surface.",
            "Grass snake basking on the bank; it slid away as soon as my shadow fell on it.",
        ),
        (
            "The yellow collar behind the head was clear.",
            "Harmless; they eat frogs, toads and fish.",
        ),
    ),
    Species(
        "brimstone butterfly",
        (2, 3, 4, 7, 8),
        ("woodland", "hedgerow", "garden"),
        (
            "A male brimstone, sulphur-yellow, flying along the sunny side of the hedge.",
            ("{n} brimstones on the wing — the first butterflies of the year here.", (2, 3)),
            ("A fresh brimstone of the new generation feeding on knapweed.", (7, 8)),
        ),
        (
            ("Brimstones overwinter as adults, so they appear on the first warm days.", (2, 3, 4)),
            "The caterpillars feed on buckthorn, which we planted along the lane.",
        ),
        (1, 4),
    ),
    Species(
        "orange-tip butterfly",
        (4, 5, 6),
        ("hedgerow", "wetland", "grassland"),
        (
            "A male orange-tip patrolling the verge, the orange wingtips bright in the sun.",
            "Orange-tips nectaring on lady's smock in the damp corner of the meadow.",
        ),
        (
            "Only the males have orange tips; the females are easily overlooked as whites.",
            "Lady's smock and garlic mustard are its food plants here.",
        ),
    ),
    Species(
        "red admiral",
        (5, 6, 7, 8, 9, 10),
        ("garden", "hedgerow", "village"),
        (
            ("{n} red admirals feeding on the ivy flowers in the sunshine.", (9, 10)),
            ("A red admiral on the fallen plums, drunk on the juice.", (8, 9)),
            "A red admiral basking on a sunny wall, wings spread.",
        ),
        (
            "Many are migrants, though more now seem to survive our winters.",
            ("Ivy blossom is the last big nectar feast of the year.", (9, 10)),
        ),
        (1, 6),
    ),
    Species(
        "common darter",
        (7, 8, 9, 10),
        ("water", "wetland", "heath"),
        (
            "Common darters in tandem, dipping to lay eggs in the shallows.",
            "{n} common darters basking on the warm boardwalk.",
        ),
        (
            "Males are red, females yellowish-brown.",
            "They are among the last dragonflies flying in autumn.",
        ),
        (2, 12),
    ),
    Species(
        "large red damselfly",
        (4, 5, 6),
        ("water", "wetland"),
        (
            "{n} large red damselflies around the pond margins, the first of the season.",
            "A large red damselfly perched on a reed stem, wings folded along its body.",
        ),
        (
            "Usually the first damselfly to emerge in spring.",
            "Damselflies hold their wings closed at rest; dragonflies hold them open.",
        ),
        (2, 10),
    ),
    Species(
        "bumblebee queen",
        (2, 3, 4),
        ("garden", "hedgerow", "woodland"),
        (
            "Bumblebee queens zig-zagging low over the bank, searching for old mouse holes to nest in.",
            "A buff-tailed bumblebee queen feeding on the willow catkins.",
        ),
        (
            "Only the mated queens survive the winter; each starts a colony alone.",
            "Early pollen and nectar from willow are vital to them.",
        ),
    ),
    Species(
        "glow-worm",
        (6, 7),
        ("grassland", "hedgerow"),
        (
            "{n} glow-worms shining green on the bank after dark.",
            "Glow-worms on the chalk bank at about half past ten: small steady points of green light.",
        ),
        (
            "The glowing ones are flightless females signalling to the flying males.",
            "Their larvae eat snails, so the damp bank suits them.",
        ),
        (3, 30),
    ),
    Species(
        "snowdrops",
        (1, 2),
        ("woodland", "garden", "village"),
        (
            "Snowdrops in full flower under the yews.",
            "Drifts of snowdrops along the wood edge, heads bowed in the cold.",
        ),
        (
            "Probably planted long ago, but thoroughly at home now.",
            "The flowers close in dull weather and open wider in sun.",
        ),
    ),
    Species(
        "lesser celandine",
        (2, 3, 4),
        ("hedgerow", "woodland", "wetland"),
        (
            "Lesser celandines open on the bank, glossy yellow stars.",
            "The celandines were shut tight this morning and only opened when the sun came out.",
        ),
        (
            "Their flowers open only in sunshine.",
            "One of the first flowers of spring on the lane banks.",
        ),
    ),
    Species(
        "bluebells",
        (4, 5),
        ("woodland",),
        (
            "Bluebells flowering across the wood floor in a blue haze.",
            "The bluebells are just starting — a few spikes open, most still in bud.",
        ),
        (
            "Native bluebells droop to one side and have cream pollen.",
            "They flower before the canopy closes and shades the ground.",
        ),
    ),
    Species(
        "wild garlic",
        (4, 5),
        ("woodland", "water"),
        (
            "Wild garlic in flower in the damp shade, the smell strong as we brushed through it.",
            "Carpets of wild garlic leaves in the damp hollow, white star flowers opening.",
        ),
        (
            "Ramsons, to the older members; a sign of old, damp woodland.",
            "Its leaves look a little like lily of the valley, which is poisonous — the smell tells them "
            "apart.",
        ),
    ),
    Species(
        "hawthorn",
        (5, 9, 10),
        ("hedgerow", "farmland"),
        (
            ("Hawthorn in the hedges covered in white blossom, heavy-scented.", (5,)),
            ("The hawthorns are laden with red haws this autumn.", (9, 10)),
        ),
        (
            ("'May' blossom, right on time.", (5,)),
            ("A good berry crop will keep the thrushes here through the winter.", (9, 10)),
        ),
    ),
    Species(
        "blackberries",
        (8, 9),
        ("hedgerow", "woodland"),
        (
            "Blackberries ripening along the lane, with flowers, green and black fruit all on the same bush.",
            "Picked a bowlful of blackberries along the wood edge.",
        ),
        (
            "Wasps, flies and butterflies crowd the ripest fruit.",
            "Old lore says not to pick them after Michaelmas.",
        ),
    ),
    Species(
        "ivy flowers",
        (9, 10, 11),
        ("hedgerow", "village", "woodland", "garden"),
        (
            "Ivy in flower on an old wall, humming with bees, hoverflies and wasps.",
            "The ivy blossom was alive with insects in the low sun.",
        ),
        (
            "Ivy flowers when little else does, and the berries feed birds in late winter.",
            "The ivy bee, a newcomer here, was on it too.",
        ),
    ),
    Species(
        "fly agaric",
        (8, 9, 10, 11),
        ("woodland", "heath"),
        (
            "Fly agarics under the birches: {n} red caps flecked with white.",
            "A ring of fly agaric toadstools at the edge of the birch stand.",
        ),
        (
            "They grow in partnership with birch roots. Poisonous — look, don't pick.",
            "The white flecks are remains of the veil that covered the young mushroom.",
        ),
        (3, 15),
    ),
    Species(
        "hazel catkins",
        (1, 2, 3),
        ("hedgerow", "woodland"),
        (
            "Hazel catkins hanging loose and yellow, shedding pollen when the branch was tapped.",
            "Found the tiny red female flowers of hazel among the catkins.",
        ),
        (
            "The wind carries the pollen; no need for insects this early.",
            "Lamb's tails, as the children in the village call them.",
        ),
    ),
    Species(
        "cowslips",
        (4, 5),
        ("grassland",),
        (
            "Cowslips nodding on the dry grassland slope.",
            "A good show of cowslips this year — perhaps a hundred plants on the bank.",
        ),
        (
            "They have recovered since the meadow stopped being sprayed.",
            "Cowslips need short, unfertilised grassland.",
        ),
    ),
    Species(
        "common spotted orchid",
        (6, 7),
        ("grassland", "wetland"),
        (
            "{n} common spotted orchids in flower, pale pink spikes above spotted leaves.",
            "Common spotted orchids along the damp edge of the meadow.",
        ),
        (
            "The dark spots on the leaves give it its name.",
            "Numbers rise when the meadow is cut late in summer rather than early.",
        ),
        (4, 60),
    ),
    Species(
        "meadowsweet",
        (6, 7, 8),
        ("wetland", "water"),
        (
            "Meadowsweet frothing along the ditch, creamy and sweet-smelling.",
            "The meadowsweet is in full flower along the water's edge.",
        ),
        (
            "The scent is strongest on warm, humid evenings.",
            "It likes wet feet; a reliable sign of damp ground.",
        ),
    ),
)

WEATHER: dict[str, tuple[str, ...]] = {
    "winter": (
        "Hard frost, clear sky, still.",
        "Grey and raw, a light north-easterly.",
        "Sleet showers, 2 °C.",
        "Mild and damp after rain, 8 °C.",
        "Fog until late morning, then weak sun.",
        "Bright and bitterly cold.",
    ),
    "spring": (
        "Sunny spells, light south-westerly, 12 °C.",
        "Showers and bright intervals.",
        "Cool and overcast, 9 °C.",
        "Warm and still, the first properly mild day.",
        "Blustery, with fast-moving cloud.",
        "Soft rain all morning.",
    ),
    "summer": (
        "Hot and close, 26 °C.",
        "Warm, hazy sunshine.",
        "Thundery, heavy air, a few big drops of rain.",
        "Fine and breezy, 21 °C.",
        "Still evening, the light fading slowly.",
        "Overcast but warm.",
    ),
    "autumn": (
        "Misty start, then golden sun.",
        "Wet and windy, leaves coming down.",
        "Cool, bright, 11 °C.",
        "First frost of the season on the grass.",
        "Drizzle and low cloud.",
        "Calm and mild, 14 °C.",
    ),
}
SEASONS = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}
TIMES = ("Early morning.", "Mid-morning.", "Afternoon walk.", "Around midday.", "", "")
TIME_WORDS = ("dusk", "dark", "night", "midnight", "sunset", "first light", "morning", "evening", "daylight")

OBSERVERS: tuple[str, ...] = (
    "M. Ashdown",
    "R. Pellow",
    "E. Marchbank",
    "J. Thackeray",
    "C. Okafor",
    "H. Morikawa",
    "T. Fenwick",
    "A. Whitcombe",
    "S. Kallio",
    "W. Liang",
    "D. Ruiz",
    "G. Nilsen",
)
REFLECTIONS: tuple[str, ...] = (
    "A good hour, and worth the wet boots.",
    "Nothing else of note.",
    "Left the path as we found it.",
    "Recorded for the Circle's species list.",
    "Will check again next week.",
    "Worth a return visit with the others.",
    "The Circle's records go back to 1931; this is the kind of entry the old notebooks are full of.",
    "Sketched it in the margin of the notebook.",
    "",
    "",
)
NUMBER_WORDS = (
    "",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
)


def _count_text(n: int) -> str:
    if n < len(NUMBER_WORDS):
        return NUMBER_WORDS[n]
    return f"about {round(n, -1)}" if n > 30 else str(n)


def _sighting(rng: random.Random, species: Species, month: int) -> str:
    low, high = species.counts
    template = rng.choice(in_season(species.sightings, month))
    text = template.format(n=_count_text(rng.randint(max(low, 2), max(high, 2))))
    return text[:1].upper() + text[1:]


def _remark(rng: random.Random, species: Species, month: int) -> str:
    return rng.choice(in_season(species.remarks, month))


def _matching(month: int, habitats: tuple[str, ...]) -> list[Species]:
    return [
        s
        for s in SPECIES
        if month in s.months
        and set(s.habitats) & set(habitats)
        and in_season(s.sightings, month)
        and in_season(s.remarks, month)
    ]


def compose_entry(rng: random.Random) -> dict:
    """One journal entry: date, place, weather, one to three fitting observations, and a signature."""
    place, habitats = rng.choice(list(PLACES.items()))
    month = rng.randint(1, 12)
    candidates = _matching(month, habitats)
    if not candidates:
        return compose_entry(rng)
    year = rng.choice((2021, 2022, 2023, 2024))
    day = rng.randint(1, calendar.monthrange(year, month)[1])
    date = dt.date(year, month, day)
    weather = rng.choice(WEATHER[SEASONS[month]])
    chosen = rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2, 2, 3))))
    observer = rng.choice(OBSERVERS)
    style = rng.random()
    if style < 0.45:
        # The classic log entry.
        lines = [f"{date.day} {date:%B %Y}. {place[:1].upper()}{place[1:]}. {weather}"]
        body = []
        for species in chosen:
            sentence = _sighting(rng, species, month)
            if rng.random() < 0.6:
                sentence += " " + _remark(rng, species, month)
            body.append(sentence)
        timed = any(word in " ".join([weather, *body]).lower() for word in TIME_WORDS)
        time_note = "" if timed else rng.choice(TIMES)
        lines.append((time_note + " " if time_note else "") + " ".join(body))
        reflection = rng.choice(REFLECTIONS)
        lines.append((reflection + " " if reflection else "") + f"— {observer}")
        text = "\n".join(lines)
    elif style < 0.75:
        # A tally entry for the monthly records.
        tally = "; ".join(
            f"{species.name} "
            f"({_count_text(rng.randint(*species.counts)) if species.counts != (1, 1) else 'present'})"
            for species in chosen
        )
        text = (
            f"Records, {place}, {date.day} {date:%B %Y} ({observer}). Weather: {weather} Seen: {tally}. "
            + _remark(rng, chosen[0], month)
        )
    else:
        # A reflective paragraph.
        lead = rng.choice(
            (
                f"On {date:%A} the {date.day}{_suffix(date.day)} of {date:%B} I walked out to {place}.",
                f"A visit to {place} on {date.day} {date:%B}, {date.year}.",
                f"{date:%B} {date.day}, {place}.",
            )
        )
        body = " ".join(
            _sighting(rng, species, month) + " " + _remark(rng, species, month) for species in chosen
        )
        season_line = {
            "winter": "The year feels stalled, but the signs of the next one are already there if you look.",
            "spring": "Everything seems to be happening at once now.",
            "summer": "The parish is at its fullest; it is hard to keep up with the notebook.",
            "autumn": "The year is turning, and the visitors are changing places.",
        }[SEASONS[month]]
        text = f"{lead} {weather} {body} {season_line} — {observer}"
    return {"text": text}


def _suffix(day: int) -> str:
    if 11 <= day <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def field_note_rows(count: int, rng: random.Random) -> list[dict]:
    """Distinct journal entries for the `field-notes` datanet."""
    return draw_unique(compose_entry, count, rng)
