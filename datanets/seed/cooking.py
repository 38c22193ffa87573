"""`hearth-cooking`: a home-cooking assistant — recipes, techniques, conversions and food safety.

Recipes are written out in full and scaled arithmetically to the number of people asked for;
conversions and oven temperatures are computed from a small table, so numbers in the answers
are consistent with each other. Food-safety temperatures and storage times follow widely
published home-cooking guidance (e.g. poultry to 74 °C / 165 °F).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from .sampling import draw_unique


@dataclass(frozen=True)
class Ingredient:
    """An amount of something; unit "" means a count, with name "singular|plural"."""

    amount: float
    unit: str
    name: str
    halves: bool = False  # counts that can sensibly be halved (onions, lemons, cans)


@dataclass(frozen=True)
class Recipe:
    """A complete recipe; `yields` names what `servings` counts (people, cookies, flatbreads)."""

    dish: str
    servings: int
    yields: str
    ingredients: tuple[Ingredient, ...]
    steps: tuple[str, ...]
    tip: str
    follow_ups: tuple[tuple[str, str], ...]
    scalable: bool = True


def _i(amount: float, unit: str, name: str, halves: bool = False) -> Ingredient:
    return Ingredient(amount, unit, name, halves)


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        "buttermilk pancakes",
        4,
        "people",
        (
            _i(250, "g", "plain flour"),
            _i(2, "tbsp", "sugar"),
            _i(2, "tsp", "baking powder"),
            _i(0.5, "tsp", "baking soda"),
            _i(0.5, "tsp", "salt"),
            _i(480, "ml", "buttermilk"),
            _i(2, "", "egg|eggs"),
            _i(45, "g", "butter, melted, plus a little for the pan"),
        ),
        (
            "Whisk the flour, sugar, baking powder, baking soda and salt in a large bowl.",
            "In another bowl, whisk the buttermilk, eggs and melted butter.",
            "Pour the wet ingredients into the dry and stir until just combined — a few lumps are fine.",
            "Let the batter rest for 5 minutes while you heat a frying pan over medium heat.",
            "Brush the pan with butter and pour in about 60 ml of batter per pancake.",
            "Flip when bubbles cover the surface and the edges look set, about 2 minutes, then cook 1–2 "
            "minutes more.",
        ),
        "Overmixing develops gluten and makes pancakes tough, so stop stirring as soon as no dry flour "
        "remains.",
        (
            (
                "Can I make the batter the night before?",
                "It's best fresh: the baking powder and soda start working as soon as they're wet, so "
                "overnight batter makes flatter pancakes. Instead, mix the dry ingredients the night before "
                "and the wet ones in the morning.",
            ),
            (
                "How do I keep the first pancakes warm?",
                "Put them on a baking tray in a 90 °C oven in a single layer while you cook the rest.",
            ),
        ),
    ),
    Recipe(
        "roasted tomato soup",
        4,
        "people",
        (
            _i(1000, "g", "ripe tomatoes"),
            _i(1, "", "onion|onions", True),
            _i(4, "", "garlic clove|garlic cloves"),
            _i(3, "tbsp", "olive oil"),
            _i(500, "ml", "vegetable stock"),
            _i(1, "tsp", "sugar (optional)"),
            _i(0, "", "salt and black pepper, to taste"),
            _i(1, "", "small handful of basil|handfuls of basil"),
        ),
        (
            "Heat the oven to 200 °C (400 °F).",
            "Halve the tomatoes, quarter the onion and spread them on a tray with the unpeeled garlic.",
            "Drizzle with the olive oil, season, and roast for 35–40 minutes until soft and charred at the "
            "edges.",
            "Squeeze the garlic from its skins and tip everything into a pot with the stock.",
            "Simmer for 10 minutes, then blend until smooth.",
            "Taste: add the sugar if it's sharp, season, and stir in torn basil.",
        ),
        "Roasting concentrates the tomatoes' sweetness, which is why this works even with ordinary "
        "supermarket tomatoes.",
        (
            (
                "Can I freeze it?",
                "Yes. Cool it quickly, then freeze in portions for up to 3 months. Thaw in the fridge "
                "overnight and reheat until piping hot.",
            ),
            (
                "How can I make it creamier?",
                "Stir in 100 ml of cream or a few spoonfuls of crème fraîche after blending, or blend in a "
                "handful of soaked cashews for a dairy-free version.",
            ),
        ),
    ),
    Recipe(
        "chickpea and spinach curry",
        4,
        "people",
        (
            _i(2, "tbsp", "vegetable oil"),
            _i(1, "", "onion, finely chopped|onions, finely chopped", True),
            _i(3, "", "garlic clove, grated|garlic cloves, grated"),
            _i(1, "tbsp", "grated fresh ginger"),
            _i(2, "tbsp", "mild curry powder"),
            _i(1, "tsp", "ground cumin"),
            _i(1, "", "can of chopped tomatoes (400 g)|cans of chopped tomatoes (400 g each)", True),
            _i(2, "", "can of chickpeas (400 g), drained|cans of chickpeas (400 g each), drained", True),
            _i(400, "ml", "coconut milk"),
            _i(100, "g", "baby spinach"),
            _i(1, "", "lime|limes", True),
        ),
        (
            "Heat the oil in a large pan and cook the onion over medium heat for 8 minutes until soft and "
            "golden.",
            "Add the garlic, ginger, curry powder and cumin and stir for 1 minute until fragrant.",
            "Add the tomatoes and cook for 5 minutes, stirring, until slightly thickened.",
            "Add the chickpeas and coconut milk, bring to a simmer and cook for 15 minutes.",
            "Stir in the spinach until wilted, then add the lime juice and season with salt.",
        ),
        "Frying the spices briefly in oil before adding liquid brings out far more flavour than adding them "
        "later.",
        (
            (
                "What should I serve it with?",
                "Basmati rice or warm flatbreads are classic. A spoonful of yoghurt and some chopped "
                "coriander on top add freshness.",
            ),
            (
                "Can I make it spicier?",
                "Add a chopped green chilli with the garlic, or use hot curry powder instead of mild. A "
                "pinch of chilli flakes at the end works too.",
            ),
            (
                "How long does it keep?",
                "Up to 3–4 days in the fridge in a covered container, and the flavour improves by the next "
                "day. It also freezes well for 2–3 months.",
            ),
        ),
    ),
    Recipe(
        "lemon garlic chicken thighs",
        4,
        "people",
        (
            _i(8, "", "bone-in, skin-on chicken thigh|bone-in, skin-on chicken thighs"),
            _i(3, "tbsp", "olive oil"),
            _i(4, "", "garlic clove, crushed|garlic cloves, crushed"),
            _i(1, "", "lemon|lemons", True),
            _i(1, "tsp", "dried oregano"),
            _i(1, "tsp", "salt"),
            _i(0.5, "tsp", "black pepper"),
        ),
        (
            "Heat the oven to 220 °C (425 °F).",
            "Pat the chicken dry with kitchen paper — dry skin crisps, wet skin steams.",
            "Mix the oil, garlic, the zest and juice of the lemon, oregano, salt and pepper, and toss the "
            "chicken in it.",
            "Arrange skin-side up in a roasting tin with space between the pieces.",
            "Roast for 35–40 minutes until the skin is deep golden and the thickest part reaches 74 °C (165 "
            "°F).",
            "Rest for 5 minutes, then spoon the pan juices over before serving.",
        ),
        "Thighs stay juicy even a little past 74 °C, which makes them more forgiving than breasts.",
        (
            (
                "Can I use boneless thighs?",
                "Yes — roast them for 20–25 minutes instead, and still check for 74 °C in the thickest part.",
            ),
            (
                "Can I marinate it ahead?",
                "Up to 24 hours in the fridge. Because of the lemon juice, don't go much longer or the "
                "texture turns mealy.",
            ),
        ),
    ),
    Recipe(
        "red lentil soup",
        4,
        "people",
        (
            _i(2, "tbsp", "olive oil"),
            _i(1, "", "onion, chopped|onions, chopped", True),
            _i(1, "", "carrot, chopped|carrots, chopped"),
            _i(2, "", "garlic clove|garlic cloves"),
            _i(1, "tsp", "ground cumin"),
            _i(200, "g", "red lentils, rinsed"),
            _i(1000, "ml", "vegetable stock"),
            _i(0.5, "", "lemon|lemons", True),
            _i(0, "", "salt, to taste"),
        ),
        (
            "Warm the oil in a pot and cook the onion and carrot over medium heat for 8 minutes.",
            "Add the garlic and cumin and cook for 1 minute.",
            "Add the lentils and stock, bring to the boil, then simmer for 20–25 minutes until the lentils "
            "collapse.",
            "Blend half of the soup and stir it back in for a creamy but textured result.",
            "Add lemon juice and salt to taste.",
        ),
        "Red lentils don't need soaking; rinse them until the water runs mostly clear to avoid scum.",
        (
            (
                "It's too thick. What should I do?",
                "Lentils keep absorbing liquid, especially overnight. Stir in hot stock or water a little at "
                "a time until it's the consistency you like, then re-season.",
            ),
            (
                "Can I use green lentils instead?",
                "You can, but they hold their shape and take 35–45 minutes, so the soup will be chunkier. "
                "Add a little more stock.",
            ),
        ),
    ),
    Recipe(
        "banana bread",
        10,
        "slices",
        (
            _i(3, "", "very ripe banana|very ripe bananas"),
            _i(75, "g", "butter, melted"),
            _i(150, "g", "light brown sugar"),
            _i(1, "", "egg|eggs"),
            _i(1, "tsp", "vanilla extract"),
            _i(1, "tsp", "baking soda"),
            _i(0.25, "tsp", "salt"),
            _i(190, "g", "plain flour"),
        ),
        (
            "Heat the oven to 175 °C (350 °F) and line a 900 g (2 lb) loaf tin.",
            "Mash the bananas, then stir in the melted butter, sugar, egg and vanilla.",
            "Sprinkle over the baking soda and salt, then fold in the flour until no streaks remain.",
            "Scrape into the tin and bake for 55–65 minutes, until a skewer in the centre comes out clean.",
            "Cool in the tin for 10 minutes, then on a rack.",
        ),
        "The darker the bananas, the sweeter and more fragrant the loaf — speckled black skins are ideal.",
        (
            (
                "Can I add chocolate chips or nuts?",
                "Yes, fold in up to 100 g of chocolate chips or chopped walnuts with the last of the flour.",
            ),
            (
                "The top is browning too fast. What do I do?",
                "Lay a sheet of foil loosely over the tin for the last 15–20 minutes of baking.",
            ),
        ),
        scalable=False,
    ),
    Recipe(
        "spaghetti aglio e olio",
        2,
        "people",
        (
            _i(200, "g", "spaghetti"),
            _i(4, "", "garlic clove, thinly sliced|garlic cloves, thinly sliced"),
            _i(5, "tbsp", "olive oil"),
            _i(0.5, "tsp", "chilli flakes"),
            _i(15, "g", "flat-leaf parsley, chopped"),
            _i(0, "", "salt, for the pasta water"),
        ),
        (
            "Bring a large pot of well-salted water to the boil and cook the spaghetti for 1 minute less "
            "than the packet says.",
            "Meanwhile, put the oil and garlic in a cold frying pan and warm over low heat until the garlic "
            "is pale golden — don't let it brown.",
            "Add the chilli flakes and take the pan off the heat.",
            "Reserve a mug of pasta water, then drain the spaghetti.",
            "Toss the spaghetti in the garlic oil over medium heat with a splash of pasta water until "
            "glossy, then stir in the parsley.",
        ),
        "Starting the garlic in cold oil lets it flavour the oil slowly; burnt garlic turns bitter and ruins "
        "the dish.",
        (
            (
                "Why add pasta water?",
                "The starch in it emulsifies with the oil, so the sauce clings to the spaghetti instead of "
                "pooling.",
            ),
            (
                "Can I add cheese?",
                "Traditionally it's served without, but a little grated pecorino or parmesan is a popular "
                "addition.",
            ),
        ),
    ),
    Recipe(
        "vegetable fried rice",
        2,
        "people",
        (
            _i(400, "g", "cooked rice, cold from the fridge"),
            _i(2, "", "egg, beaten|eggs, beaten"),
            _i(2, "tbsp", "neutral oil"),
            _i(150, "g", "frozen peas and carrots"),
            _i(3, "", "spring onion, sliced|spring onions, sliced"),
            _i(2, "", "garlic clove|garlic cloves"),
            _i(2, "tbsp", "soy sauce"),
            _i(1, "tsp", "sesame oil"),
        ),
        (
            "Heat a wok or large frying pan over high heat until very hot, then add half the oil.",
            "Scramble the eggs until just set, then tip them onto a plate.",
            "Add the remaining oil, the garlic and the white parts of the spring onions; stir for 30 "
            "seconds.",
            "Add the peas and carrots and cook for 2 minutes.",
            "Add the rice, breaking up clumps, and fry for 3–4 minutes until hot and starting to toast.",
            "Return the egg, add the soy sauce and sesame oil, and toss with the green parts of the spring "
            "onions.",
        ),
        "Day-old rice works best: it's drier, so the grains fry separately instead of turning mushy.",
        (
            (
                "Can I use freshly cooked rice?",
                "Spread it on a tray and let it steam off and cool for 20–30 minutes first, ideally in the "
                "fridge. Warm, moist rice clumps in the pan.",
            ),
            (
                "Is it safe to keep cooked rice for fried rice?",
                "Yes, if you cool it quickly — within about an hour — and keep it in the fridge. Use it "
                "within a day, and reheat it until piping hot.",
            ),
        ),
    ),
    Recipe(
        "French omelette",
        1,
        "person",
        (
            _i(3, "", "egg|eggs"),
            _i(15, "g", "butter"),
            _i(0, "", "a pinch of salt"),
            _i(1, "tsp", "chopped chives"),
        ),
        (
            "Beat the eggs with the salt until no streaks of white remain.",
            "Heat a 20 cm non-stick pan over medium heat and add the butter.",
            "When the butter foams, pour in the eggs and stir quickly with a spatula while shaking the pan.",
            "After about a minute, when the eggs are softly set but still glossy, stop stirring and let the "
            "base set for 10–15 seconds.",
            "Tilt the pan and roll the omelette onto a warm plate, seam-side down. Sprinkle with chives.",
        ),
        "Keep the heat moderate: a classic French omelette has no brown colour at all.",
        (
            (
                "Can I add a filling?",
                "Yes — spoon warm fillings such as sautéed mushrooms or grated cheese across the middle just "
                "before you roll it.",
            ),
            (
                "How do I make omelettes for several people?",
                "Make them one at a time in the same pan; each takes only about 2 minutes. Keep finished "
                "ones on a warm plate in a low oven.",
            ),
        ),
        scalable=False,
    ),
    Recipe(
        "pan-seared salmon",
        2,
        "people",
        (
            _i(2, "", "skin-on salmon fillet (about 150 g)|skin-on salmon fillets (about 150 g each)"),
            _i(1, "tbsp", "neutral oil"),
            _i(15, "g", "butter"),
            _i(0.5, "", "lemon|lemons", True),
            _i(0, "", "salt and black pepper, to taste"),
        ),
        (
            "Pat the salmon very dry, especially the skin, and season both sides.",
            "Heat the oil in a frying pan over medium-high heat until it shimmers.",
            "Lay the fillets skin-side down and press gently for 10 seconds so the skin stays flat.",
            "Cook without moving for 4–5 minutes, until the skin is crisp and the flesh is opaque two-thirds "
            "of the way up.",
            "Flip, add the butter and cook for 1–2 minutes more, until the salmon flakes easily or reaches "
            "63 °C (145 °F).",
            "Squeeze over the lemon and serve skin-side up.",
        ),
        "If the fish sticks, wait: it releases by itself once the skin has crisped.",
        (
            (
                "What goes well with it?",
                "New potatoes and green beans, a simple salad, or rice with a little soy sauce and sesame "
                "oil.",
            ),
            (
                "Can I cook it from frozen?",
                "It's better thawed overnight in the fridge so it cooks evenly. If you must cook from "
                "frozen, rinse off any ice, pat dry and allow a few extra minutes over slightly lower heat.",
            ),
        ),
    ),
    Recipe(
        "mushroom risotto",
        4,
        "people",
        (
            _i(1200, "ml", "hot vegetable or chicken stock"),
            _i(2, "tbsp", "olive oil"),
            _i(300, "g", "mushrooms, sliced"),
            _i(1, "", "onion, finely chopped|onions, finely chopped", True),
            _i(2, "", "garlic clove|garlic cloves"),
            _i(300, "g", "arborio rice"),
            _i(120, "ml", "dry white wine"),
            _i(40, "g", "butter"),
            _i(50, "g", "parmesan, grated"),
        ),
        (
            "Keep the stock at a gentle simmer in a separate pan.",
            "Fry the mushrooms in half the oil over high heat until browned, then set aside.",
            "Soften the onion in the remaining oil for 6–8 minutes, add the garlic, then the rice, and stir "
            "for 1–2 minutes until the grains look translucent at the edges.",
            "Pour in the wine and stir until absorbed.",
            "Add the stock a ladle at a time, stirring often, waiting until each addition is mostly "
            "absorbed; this takes 18–20 minutes.",
            "When the rice is tender with a slight bite, stir in the mushrooms, butter and parmesan, cover "
            "and rest for 2 minutes.",
        ),
        "Risotto should flow slowly when spooned onto a plate; add a last splash of stock if it's stiff.",
        (
            (
                "Can I make it without wine?",
                "Yes — use extra stock with a teaspoon of lemon juice or white wine vinegar for the acidity.",
            ),
            (
                "Can I use regular long-grain rice?",
                "Not really. Arborio and carnaroli release starch that makes risotto creamy; long-grain rice "
                "stays separate and gives a pilaf-like result.",
            ),
        ),
    ),
    Recipe(
        "yoghurt flatbreads",
        6,
        "flatbreads",
        (
            _i(250, "g", "plain flour, plus extra for dusting"),
            _i(2, "tsp", "baking powder"),
            _i(0.5, "tsp", "salt"),
            _i(250, "g", "thick Greek yoghurt"),
        ),
        (
            "Mix the flour, baking powder and salt, then stir in the yoghurt to make a soft dough.",
            "Knead for 1–2 minutes on a floured surface until smooth.",
            "Divide into equal pieces and roll each to about 3 mm thick.",
            "Cook in a dry, very hot frying pan for 1–2 minutes per side, until puffed and spotted brown.",
            "Brush with melted butter or olive oil if you like, and keep warm under a tea towel.",
        ),
        "No yeast means no rising time — they're ready in about 20 minutes from start to finish.",
        (
            (
                "The dough is very sticky. Is that right?",
                "Yoghurts vary. Add flour a tablespoon at a time until the dough no longer sticks to your "
                "hands.",
            ),
            (
                "Can I add flavourings?",
                "Knead in chopped herbs, a crushed garlic clove or a teaspoon of cumin or nigella seeds.",
            ),
        ),
    ),
    Recipe(
        "guacamole",
        4,
        "people",
        (
            _i(3, "", "ripe avocado|ripe avocados"),
            _i(1, "", "lime|limes", True),
            _i(0.5, "", "small red onion, finely chopped|small red onions, finely chopped", True),
            _i(1, "", "tomato, deseeded and diced|tomatoes, deseeded and diced"),
            _i(10, "g", "coriander, chopped"),
            _i(0.5, "tsp", "salt"),
        ),
        (
            "Halve the avocados, remove the stones and scoop the flesh into a bowl.",
            "Mash with a fork, leaving some texture.",
            "Stir in the lime juice, onion, tomato, coriander and salt.",
            "Taste and adjust with more lime or salt, then serve straight away.",
        ),
        "A ripe avocado yields to gentle pressure near the stem; if it's hard, it won't mash well.",
        (
            (
                "How do I stop it going brown?",
                "Press cling film directly onto the surface so no air touches it, and keep it in the fridge. "
                "The lime juice slows browning but doesn't stop it; it's best within a few hours.",
            ),
        ),
    ),
    Recipe(
        "shakshuka",
        3,
        "people",
        (
            _i(2, "tbsp", "olive oil"),
            _i(1, "", "onion, sliced|onions, sliced", True),
            _i(1, "", "red pepper, sliced|red peppers, sliced", True),
            _i(3, "", "garlic clove|garlic cloves"),
            _i(1, "tsp", "ground cumin"),
            _i(1, "tsp", "paprika"),
            _i(2, "", "can of chopped tomatoes (400 g)|cans of chopped tomatoes (400 g each)", True),
            _i(6, "", "egg|eggs"),
            _i(50, "g", "feta, crumbled (optional)"),
        ),
        (
            "Soften the onion and pepper in the oil over medium heat for 8–10 minutes.",
            "Add the garlic, cumin and paprika and stir for 1 minute.",
            "Add the tomatoes, season, and simmer for 10–15 minutes until thick.",
            "Make wells in the sauce and crack an egg into each.",
            "Cover and cook on low heat for 6–8 minutes, until the whites are set but the yolks still runny.",
            "Scatter with feta and serve from the pan with bread.",
        ),
        "If the whites set slowly, spoon a little hot sauce over them, keeping clear of the yolks.",
        (
            (
                "Can I make the sauce ahead?",
                "Yes. The sauce keeps for 3 days in the fridge; reheat it in the pan until bubbling before "
                "adding the eggs.",
            ),
        ),
    ),
    Recipe(
        "crispy roast potatoes",
        4,
        "people",
        (
            _i(1000, "g", "floury potatoes"),
            _i(4, "tbsp", "vegetable oil"),
            _i(1, "tsp", "salt"),
            _i(2, "", "sprig of rosemary|sprigs of rosemary"),
        ),
        (
            "Heat the oven to 220 °C (425 °F) and put the oil in a roasting tin to heat up.",
            "Peel the potatoes and cut into large chunks.",
            "Boil in salted water for 8–10 minutes, until the edges are soft.",
            "Drain, leave to steam dry for 2 minutes, then shake in the colander to rough up the surfaces.",
            "Carefully tip into the hot oil, turn to coat, and roast for 45–55 minutes, turning once, until "
            "crisp and golden. Add the rosemary for the last 10 minutes and season with the salt.",
        ),
        "The roughed-up edges from parboiling are what turn into the crunchy crust.",
        (
            (
                "Which potatoes are floury?",
                "Varieties sold for baking or mashing, such as Maris Piper or Russet, are floury. Waxy "
                "potatoes hold their shape but don't get as crunchy.",
            ),
        ),
    ),
    Recipe(
        "oat and raisin cookies",
        16,
        "cookies",
        (
            _i(115, "g", "butter, softened"),
            _i(100, "g", "light brown sugar"),
            _i(50, "g", "caster sugar"),
            _i(1, "", "egg|eggs"),
            _i(1, "tsp", "vanilla extract"),
            _i(120, "g", "plain flour"),
            _i(0.5, "tsp", "baking soda"),
            _i(0.5, "tsp", "ground cinnamon"),
            _i(0.25, "tsp", "salt"),
            _i(150, "g", "rolled oats"),
            _i(100, "g", "raisins"),
        ),
        (
            "Heat the oven to 180 °C (350 °F) and line two baking trays.",
            "Beat the butter and both sugars until creamy, then beat in the egg and vanilla.",
            "Stir in the flour, baking soda, cinnamon and salt, then the oats and raisins.",
            "Roll into walnut-sized balls and space them 5 cm apart on the trays.",
            "Bake for 10–12 minutes, until golden at the edges but still soft in the middle.",
            "Cool on the trays for 5 minutes, then move to a rack.",
        ),
        "Chilling the dough for 30 minutes makes thicker cookies that spread less.",
        (
            (
                "How do I store them?",
                "In an airtight tin for up to 5 days. You can also freeze the dough balls and bake from "
                "frozen, adding 1–2 minutes.",
            ),
        ),
    ),
    Recipe(
        "everyday vinaigrette",
        4,
        "salads",
        (
            _i(6, "tbsp", "extra virgin olive oil"),
            _i(2, "tbsp", "red wine vinegar"),
            _i(1, "tsp", "Dijon mustard"),
            _i(1, "tsp", "honey"),
            _i(0, "", "a pinch of salt"),
        ),
        (
            "Put the vinegar, mustard, honey and salt in a jar.",
            "Add the oil, close the lid and shake hard for 20 seconds until it looks creamy.",
            "Taste on a lettuce leaf and adjust: more oil if it's sharp, more vinegar if it's flat.",
        ),
        "The classic ratio is 3 parts oil to 1 part acid; mustard helps the two stay emulsified.",
        (
            (
                "How long does it keep?",
                "About a week in the fridge. The oil may solidify a little; let it warm up and shake again.",
            ),
        ),
    ),
    Recipe(
        "beef chilli",
        6,
        "people",
        (
            _i(2, "tbsp", "vegetable oil"),
            _i(750, "g", "minced beef"),
            _i(2, "", "onion, chopped|onions, chopped", True),
            _i(4, "", "garlic clove|garlic cloves"),
            _i(2, "tsp", "ground cumin"),
            _i(2, "tsp", "smoked paprika"),
            _i(1.5, "tsp", "chilli powder"),
            _i(1, "tsp", "dried oregano"),
            _i(2, "tbsp", "tomato purée"),
            _i(2, "", "can of chopped tomatoes (400 g)|cans of chopped tomatoes (400 g each)", True),
            _i(
                2, "", "can of kidney beans (400 g), drained|cans of kidney beans (400 g each), drained", True
            ),
            _i(250, "ml", "beef stock"),
        ),
        (
            "Brown the beef in the oil in batches over high heat, then set aside.",
            "Lower the heat and cook the onions for 8 minutes, then add the garlic, spices and tomato purée "
            "for 1 minute.",
            "Return the beef, add the tomatoes and stock and bring to a simmer.",
            "Cook gently, partly covered, for 45–60 minutes, stirring now and then.",
            "Add the beans for the last 15 minutes and season to taste.",
        ),
        "Browning the beef in batches keeps the pan hot, so the meat sears instead of stewing in its juices.",
        (
            (
                "Does it freeze well?",
                "Very well — up to 3 months. Cool it within 2 hours, freeze in portions, and reheat until "
                "it's steaming throughout.",
            ),
            (
                "How can I make it less spicy for kids?",
                "Halve or leave out the chilli powder and serve hot sauce on the side. Smoked paprika gives "
                "flavour without much heat.",
            ),
        ),
    ),
)

GLYPHS = {Fraction(1, 4): "¼", Fraction(1, 2): "½", Fraction(3, 4): "¾"}


def _fraction_text(value: Fraction) -> str:
    whole, part = divmod(value, 1)
    if part == 0:
        return str(int(whole))
    glyph = GLYPHS[part]
    return f"{int(whole)}{glyph}" if whole else glyph


def format_ingredient(ingredient: Ingredient, factor: Fraction) -> str:
    """Render a scaled ingredient the way a cook would write it (22 g, 1½ tsp, 2 onions)."""
    if ingredient.amount == 0:
        return ingredient.name
    amount = Fraction(ingredient.amount).limit_denominator(8) * factor
    if ingredient.unit in ("g", "ml"):
        value = float(amount)
        value = round(value / 5) * 5 if value >= 50 else max(1, round(value))
        if value >= 1000:
            big = "kg" if ingredient.unit == "g" else "litres"
            return f"{value / 1000:g} {big} {ingredient.name}"
        return f"{value} {ingredient.unit} {ingredient.name}"
    if ingredient.unit in ("tsp", "tbsp"):
        spoons = Fraction(max(1, round(amount * 4)), 4)
        unit = ingredient.unit
        if unit == "tsp" and spoons >= 3 and spoons % 3 == 0:
            spoons, unit = spoons / 3, "tbsp"
        text = f"{_fraction_text(spoons)} {unit}"
        if unit == "tbsp" and spoons >= 6:
            text += f" ({round(spoons * 15)} ml)"
        return f"{text} {ingredient.name}"
    singular, plural = ingredient.name.split("|")
    steps = 2 if ingredient.halves else 1  # some counts can sensibly be halved (½ onion), others not
    count = Fraction(max(1, round(amount * steps)), steps)
    return f"{_fraction_text(count)} {singular if count <= 1 else plural}"


def render_recipe(recipe: Recipe, servings: int) -> str:
    """A full recipe answer for the requested number of servings."""
    factor = Fraction(servings, recipe.servings)
    if recipe.yields in ("people", "person"):
        heading = f"{recipe.dish[:1].upper()}{recipe.dish[1:]} (serves {servings})"
    else:
        heading = f"{recipe.dish[:1].upper()}{recipe.dish[1:]} (makes {servings} {recipe.yields})"
    lines = [heading, "", "Ingredients:"]
    lines += [f"- {format_ingredient(ingredient, factor)}" for ingredient in recipe.ingredients]
    lines += ["", "Method:"]
    lines += [f"{number}. {step}" for number, step in enumerate(recipe.steps, start=1)]
    lines += ["", f"Tip: {recipe.tip}"]
    return "\n".join(lines)


RECIPE_ASKS_FOR_PEOPLE: tuple[str, ...] = (
    "Can you give me a recipe for {dish} for {n} {yields}?",
    "How do I make {dish} for {n} {yields}?",
    "I'm cooking for {n} {yields} tonight. What do I need for {dish}?",
    "I want to make {dish} — enough for {n} {yields}. Recipe please!",
    "Scale your {dish} recipe to serve {n}, please.",
)
RECIPE_ASKS_FOR_ITEMS: tuple[str, ...] = (
    "Can you give me a recipe for {dish} that makes {n} {yields}?",
    "I need {n} {yields}. How do I make {dish}?",
    "Scale your {dish} recipe to {n} {yields}, please.",
)
RECIPE_ASKS: tuple[str, ...] = (
    "Can you give me a simple recipe for {dish}?",
    "How do I make {dish}?",
    "What's a good basic {dish} recipe?",
    "I'd like to try {dish}. Where do I start?",
)

# Technique questions: (asks, answers).
TECHNIQUES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        (
            "How do I get a good sear on meat?",
            "Why doesn't my steak brown properly?",
            "What's the secret to searing?",
        ),
        (
            "Three things make a good sear:\n"
            "1. Dry surface — pat the meat dry with kitchen paper; moisture has to boil off before browning "
            "can start.\n"
            "2. Hot pan — heat a heavy pan until the oil shimmers.\n"
            "3. Space and patience — don't crowd the pan, and don't move the meat until it releases by "
            "itself, usually after 2–3 minutes.",
            "Browning (the Maillard reaction) needs a surface well above the boiling point of water. If the "
            "meat is wet, the pan isn't hot enough, or the pan is crowded, the meat steams and turns grey. "
            "Dry it, salt it, heat the pan properly, cook in batches and leave it alone until it releases.",
        ),
    ),
    (
        (
            "What does braising mean?",
            "How do I braise beef?",
            "What's the difference between braising and stewing?",
        ),
        (
            "Braising is cooking food slowly, partly submerged in liquid, in a covered pot. Brown the meat "
            "first, add liquid to come about halfway up, cover, and cook at a low temperature — around "
            "150–160 °C in the oven — for 2–3 hours until tender. Tough, collagen-rich cuts like beef shin "
            "or chuck are ideal, because the collagen slowly melts into gelatine. Stewing is similar but "
            "uses smaller pieces fully covered in liquid.",
        ),
    ),
    (
        ("What is blanching?", "Why should I blanch vegetables?", "How do I blanch green beans?"),
        (
            "Blanching means cooking vegetables briefly in a large pot of boiling salted water, then "
            "plunging them into iced water to stop the cooking. It sets a bright colour, keeps a crisp "
            "texture and is the standard step before freezing vegetables. Green beans need about 2–3 "
            "minutes; leafy greens 30–60 seconds.",
        ),
    ),
    (
        ("How do I deglaze a pan?", "What does deglazing mean?"),
        (
            "After searing, the browned bits stuck to the pan (the fond) are full of flavour. To deglaze, "
            "pour off excess fat, add a splash of liquid — wine, stock or even water — to the hot pan and "
            "scrape the bottom with a wooden spoon as it bubbles. The fond dissolves into the liquid, which "
            "becomes the base of a pan sauce. Reduce it by about half, then finish with a knob of butter.",
        ),
    ),
    (
        (
            "How do I caramelise onions?",
            "Why do my caramelised onions burn?",
            "How long do caramelised onions take?",
        ),
        (
            "Real caramelised onions take 30–45 minutes. Slice them thinly, cook in butter or oil over "
            "medium-low heat with a pinch of salt, and stir every few minutes. If they start catching, add a "
            "splash of water and scrape the pan. They're done when deep golden brown, soft and sweet. High "
            "heat browns the outside before the sugars develop, so they burn instead.",
        ),
    ),
    (
        ("Why do I need to rest meat?", "How long should I rest a steak?"),
        (
            "Resting lets the juices, which are pushed towards the centre by the heat, redistribute and "
            "thicken slightly, so less runs out when you slice. Rest steaks and chops for about 5 minutes, "
            "and large roasts for 15–20 minutes loosely covered with foil. The temperature also rises a few "
            "degrees while resting, so take meat off the heat slightly before your target.",
        ),
    ),
    (
        ("How do I make a roux?", "What is a roux used for?"),
        (
            "A roux is equal weights of fat and flour cooked together, used to thicken sauces, soups and "
            "gravies. Melt the butter, whisk in the flour and cook, stirring, for 1–2 minutes for a white "
            "roux (for béchamel), longer for a nutty blond roux, and much longer for a brown roux that adds "
            "flavour but thickens less. Add liquid gradually while whisking to avoid lumps; about 25 g each "
            "of butter and flour thickens 300 ml of milk into a medium sauce.",
        ),
    ),
    (
        ("How do I poach an egg?", "My poached eggs fall apart. What am I doing wrong?"),
        (
            "Use the freshest eggs you have — their whites hold together better. Bring a deep pan of water "
            "to a gentle simmer (small bubbles, not a rolling boil). Crack the egg into a small cup, or a "
            "fine sieve to drain the watery part of the white, then slip it into the water. Cook for 3–4 "
            "minutes for a runny yolk, lift out with a slotted spoon and drain on kitchen paper. A splash of "
            "vinegar helps the white set but isn't essential.",
        ),
    ),
    (
        ("How long do I boil an egg?", "How do I get a jammy egg?", "How long for a hard-boiled egg?"),
        (
            "For large eggs lowered straight from the fridge into boiling water:\n"
            "- 6 minutes: set white, runny yolk\n"
            "- 7 minutes: jammy, just-set yolk\n"
            "- 10 minutes: fully hard-boiled\n"
            "Then move them to iced water for a few minutes to stop the cooking and make peeling easier.",
        ),
    ),
    (
        (
            "How do I cook rice so it isn't sticky?",
            "What's the water ratio for rice?",
            "How do I cook basmati rice?",
        ),
        (
            "Rinse the rice in cold water until it runs almost clear to remove surface starch. For basmati, "
            "use 1 cup of rice to 1½ cups of water with a pinch of salt. Bring to the boil, cover tightly, "
            "turn the heat to the lowest setting and cook for 12 minutes. Take it off the heat and leave it "
            "covered for 10 minutes, then fluff with a fork. Brown rice needs about 2 cups of water per cup "
            "and 40–45 minutes.",
        ),
    ),
    (
        (
            "How do I cook pasta properly?",
            "How much salt goes in pasta water?",
            "Should I add oil to pasta water?",
        ),
        (
            "Use plenty of water so it returns to the boil quickly, and salt it generously — about 10 g of "
            "salt per litre. Skip the oil: it just floats on top and makes sauce slide off the pasta. Stir "
            "in the first minute to stop sticking, and if you'll finish the pasta in its sauce, drain it 1–2 "
            "minutes before the packet time and save a mug of the starchy water to loosen the sauce.",
        ),
    ),
    (
        (
            "How do I make a vinaigrette that doesn't separate?",
            "What's the oil to vinegar ratio for dressing?",
        ),
        (
            "Start with 3 parts oil to 1 part acid (vinegar or lemon juice). Whisk the acid with salt and a "
            "teaspoon of mustard first, then add the oil in a thin stream while whisking — or shake "
            "everything in a closed jar. Mustard and honey act as emulsifiers and help the dressing stay "
            "creamy for longer.",
        ),
    ),
    (
        ("How do I know when bread dough has proofed enough?", "How do I do the poke test for bread?"),
        (
            "Use the poke test: press a floured finger about 1 cm into the dough. If it springs back "
            "immediately, it needs more time. If the dent springs back slowly and leaves a small impression, "
            "it's ready to bake. If it doesn't spring back at all, it's over-proofed — bake it soon, and "
            "expect a flatter loaf. Dough usually roughly doubles in size during the first rise.",
        ),
    ),
    (
        ("What does tempering eggs mean?", "How do I add eggs to a hot custard without scrambling them?"),
        (
            "Tempering means warming eggs gradually so they don't scramble. Whisk the eggs (with sugar, for "
            "a custard) in a bowl, then pour in a ladle of the hot milk while whisking constantly. Add "
            "another ladle, then pour the warmed egg mixture back into the pan and cook gently, stirring, "
            "until it coats the back of a spoon — about 80 °C. Don't let it boil.",
        ),
    ),
    (
        ("How do I fold ingredients into a batter?", "What does 'fold in' mean in baking?"),
        (
            "Folding combines a light mixture, like whipped egg whites or cream, with a heavier one without "
            "knocking out the air. Use a large spatula: cut down through the middle, sweep across the bottom "
            "and lift up the side, turning the bowl a quarter turn each time. Stop as soon as no streaks "
            "remain. Stirring or whisking at this stage would deflate the mixture.",
        ),
    ),
    (
        (
            "How do I hold a chef's knife safely?",
            "What's the claw grip?",
            "How do I chop an onion without crying?",
        ),
        (
            "Pinch the blade just in front of the handle between your thumb and the side of your index "
            "finger — this 'pinch grip' gives the most control. Your other hand forms a claw: fingertips "
            "tucked under, knuckles forward, so the flat of the blade rests against your knuckles as you "
            "cut. A sharp knife is safer than a blunt one because it doesn't slip; chilling the onion for 15 "
            "minutes and using a sharp knife also reduces the fumes that make you cry.",
        ),
    ),
    (
        ("Why do you salt eggplant?", "Should I salt aubergine before cooking?"),
        (
            "Salting slices of aubergine (eggplant) and leaving them for 30 minutes draws out some moisture, "
            "which helps them brown rather than soak up oil. Modern varieties are rarely bitter, so it's "
            "optional; if you do it, rinse and pat the slices dry before cooking.",
        ),
    ),
    (
        ("When should I salt my steak?", "Does salting meat early dry it out?"),
        (
            "Either salt just before cooking or at least 40 minutes ahead. Salt first draws moisture out; "
            "after about 40 minutes that brine is reabsorbed, seasoning the meat more deeply. Salting 3–15 "
            "minutes before cooking is the worst option, because the surface is wet and won't brown well. "
            "Overnight salting, uncovered in the fridge, gives the best crust.",
        ),
    ),
)

# Substitutions: (asks, answer).
SUBSTITUTIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("What can I use instead of buttermilk?", "I don't have buttermilk. What's a substitute?"),
        "Stir 1 tablespoon of lemon juice or white vinegar into 1 cup (240 ml) of milk and leave it for 5–10 "
        "minutes until slightly thickened. Plain yoghurt thinned with a little milk also works, one for one.",
    ),
    (
        ("How do I replace an egg in baking?", "What's a vegan egg substitute for muffins?"),
        "For each egg, mix 1 tablespoon of ground flaxseed with 3 tablespoons of water and let it sit for 5 "
        "minutes until gel-like. It works well in muffins, cookies and quick breads; for cakes that rely on "
        "eggs for lift, results are denser. Half a mashed banana or 60 g of apple sauce per egg also works "
        "in sweet bakes.",
    ),
    (
        ("How do I make self-raising flour?", "Can I use plain flour instead of self-raising?"),
        "Yes: for each 150 g of plain flour, add 2 teaspoons of baking powder and whisk well. In cups, "
        "that's about 1½ teaspoons of baking powder and ¼ teaspoon of salt per cup of all-purpose flour.",
    ),
    (
        ("What can I use instead of baking powder?", "I'm out of baking powder. Can I use baking soda?"),
        "You can make 1 teaspoon of baking powder from ¼ teaspoon of baking soda plus ½ teaspoon of cream of "
        "tartar. Don't swap baking soda in one for one: it's about three to four times stronger and needs an "
        "acid in the recipe, or the bake tastes soapy.",
    ),
    (
        ("What's a substitute for brown sugar?", "Can I make brown sugar at home?"),
        "Mix 1 cup (200 g) of white sugar with 1 tablespoon of molasses (2 tablespoons for dark brown "
        "sugar). In a pinch you can use white sugar alone; the result will be slightly crisper and less "
        "caramel-flavoured.",
    ),
    (
        ("How much dried herb do I use instead of fresh?", "Can I swap fresh herbs for dried?"),
        "Use about a third as much: 1 teaspoon of dried herbs replaces 1 tablespoon of fresh. Add dried "
        "herbs early in cooking so they soften, and tender fresh herbs like basil or parsley at the end.",
    ),
    (
        ("Can I use Greek yoghurt instead of sour cream?", "What can replace sour cream?"),
        "Plain full-fat Greek yoghurt swaps in one for one, in dips, baking and toppings. In hot sauces, "
        "stir it in off the heat, because yoghurt can split if it boils.",
    ),
    (
        ("What can I use instead of wine in a recipe?", "How do I cook without wine?"),
        "Use the same amount of stock with a splash of acidity — about 1 teaspoon of vinegar or lemon juice "
        "per cup (240 ml). For red wine in stews, beef stock with a little red wine vinegar works well; for "
        "white wine, chicken or vegetable stock with lemon juice.",
    ),
    (
        ("What can I use instead of cornstarch to thicken a sauce?", "Can I thicken gravy with flour?"),
        "Yes — use twice as much flour as you would cornstarch: 2 tablespoons of flour instead of 1 "
        "tablespoon of cornstarch. Mix it into a smooth paste with a little cold liquid first, stir it in, "
        "and simmer for a couple of minutes so it loses its raw taste.",
    ),
    (
        ("What can I use instead of heavy cream in a sauce?", "Can I replace double cream?"),
        "For cooking (not whipping), use ¾ cup (180 ml) of milk plus ¼ cup (about 55 g) of melted butter per "
        "cup of cream. Evaporated milk also works in many sauces and soups. Neither will whip.",
    ),
    (
        ("Can I use salted butter instead of unsalted?", "Does it matter if butter is salted in baking?"),
        "Yes. Salted butter contains roughly ¼ teaspoon of salt per 115 g (½ cup), so reduce the added salt "
        "in the recipe by about that much.",
    ),
    (
        ("What can I use instead of fresh garlic?", "How much garlic powder equals one clove?"),
        "About ⅛ teaspoon of garlic powder equals one clove. It burns more easily, so add it with the "
        "liquids rather than frying it at the start.",
    ),
)

# (food, °C, °F, extra note) — minimum safe internal temperatures.
SAFE_TEMPERATURES: tuple[tuple[str, int, int, str], ...] = (
    ("chicken", 74, 165, "Check the thickest part, away from the bone."),
    ("turkey", 74, 165, "Check the thickest part of the thigh and the breast, not touching bone."),
    ("minced beef", 71, 160, "Burgers should have no pink juices running out."),
    (
        "burgers",
        71,
        160,
        "Mincing spreads surface bacteria all through the meat, so burgers need cooking through.",
    ),
    ("pork chops", 63, 145, "Rest for 3 minutes before cutting; a little pink in the middle is fine."),
    ("a beef steak", 63, 145, "That's the official guidance for whole cuts, followed by a 3-minute rest."),
    ("a lamb roast", 63, 145, "Let it rest for at least 3 minutes — longer for a large joint."),
    ("fish", 63, 145, "The flesh should be opaque and flake easily with a fork."),
    ("sausages", 71, 160, "Cut one open: there should be no pink in the centre."),
    ("leftovers", 74, 165, "Reheat until steaming hot all the way through, and only reheat once."),
    ("an egg dish like quiche", 71, 160, "The centre should be just set and not liquid."),
)
TEMPERATURE_ASKS: tuple[str, ...] = (
    "What temperature should {food} be cooked to?",
    "How do I know {food} is cooked safely?",
    "What's the safe internal temperature for {food}?",
    "What should my meat thermometer read for {food}?",
)

# (food, fridge time, freezer time)
STORAGE: tuple[tuple[str, str, str], ...] = (
    ("cooked leftovers", "3–4 days", "2–3 months"),
    ("raw chicken", "1–2 days", "about 9 months"),
    ("raw minced beef", "1–2 days", "3–4 months"),
    ("raw steaks and chops", "3–5 days", "4–12 months"),
    ("raw fish", "1–2 days", "3–6 months"),
    ("homemade soup", "3–4 days", "2–3 months"),
    ("hard-boiled eggs", "up to 1 week (in their shells)", "not recommended — the whites turn rubbery"),
    ("cooked chicken", "3–4 days", "2–6 months"),
    ("bread", "not recommended — it goes stale faster in the fridge", "about 3 months"),
)
STORAGE_ASKS: tuple[str, ...] = (
    "How long does {food} keep in the fridge?",
    "Can I freeze {food}, and for how long?",
    "How long is {food} good for?",
)

# Troubleshooting: (asks, answer).
TROUBLESHOOTING: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Why is my bread so dense?", "My homemade loaf came out heavy and tight. What went wrong?"),
        "A dense loaf usually means the dough didn't rise enough. Common causes: yeast that's old or was "
        "killed by very hot water (keep it below about 45 °C), too short a rise, a cold kitchen, or too much "
        "flour added while kneading. Let the dough roughly double in size and use the poke test before "
        "baking.",
    ),
    (
        ("Why do my cookies spread so much?", "My cookies came out flat and thin."),
        "Usually the butter was too warm or melted, there was too little flour, or the trays were hot from "
        "the last batch. Weigh the flour if you can, chill the dough for 30 minutes, and let trays cool "
        "between batches.",
    ),
    (
        ("My sauce split. Can I fix it?", "How do I rescue a curdled hollandaise?"),
        "Often, yes. For a butter or egg sauce like hollandaise, take it off the heat and whisk in a "
        "tablespoon of cold water; if that fails, whisk a fresh egg yolk in a clean bowl and slowly whisk "
        "the split sauce into it. Splitting usually happens when the sauce gets too hot or the fat is added "
        "too quickly.",
    ),
    (
        ("Why are my roast vegetables soggy?", "How do I get crispy roasted vegetables?"),
        "Soggy vegetables have been steamed rather than roasted. Use a hot oven — around 220 °C — dry the "
        "vegetables well, toss them in just enough oil to coat, and spread them in a single layer with space "
        "between pieces. Use two trays rather than one crowded one.",
    ),
    (
        ("Why are my scrambled eggs rubbery?", "How do I make creamy scrambled eggs?"),
        "Rubbery eggs are cooked too hot and too long. Use medium-low heat and a knob of butter, stir gently "
        "and constantly, and take the pan off the heat while they still look slightly wet — they keep "
        "cooking on the plate.",
    ),
    (
        ("My soup is too salty. How do I fix it?", "I oversalted the stew. What can I do?"),
        "The reliable fix is dilution: add unsalted stock, water, a tin of tomatoes or more of the main "
        "ingredients. A squeeze of lemon or a little cream can make it taste less salty. The old trick of "
        "adding a potato absorbs very little salt, so don't rely on it.",
    ),
    (
        ("Why did my cake sink in the middle?", "My sponge collapsed after baking."),
        "The most common causes are underbaking, opening the oven door too early (before about two-thirds of "
        "the baking time), or too much raising agent. Check the oven temperature with an oven thermometer, "
        "measure baking powder precisely, and test with a skewer in the centre before taking it out.",
    ),
    (
        ("Why is my steak tough?", "My steak was chewy even though I cooked it medium-rare."),
        "Check how you sliced it: always cut across the grain (perpendicular to the muscle fibres) so the "
        "fibres are short. Also rest it for 5 minutes, and remember that lean, hard-working cuts like rump "
        "need thin slicing or slow cooking to be tender.",
    ),
    (
        ("Why does food stick to my stainless steel pan?", "How do I stop eggs sticking to a steel pan?"),
        "Preheat the empty pan over medium heat for 2–3 minutes before adding fat, then add the oil and wait "
        "until it shimmers. Food sticks when the pan is too cool or when you move it too early — proteins "
        "release by themselves once they've browned. For eggs, a non-stick pan is simply easier.",
    ),
    (
        ("Why is my rice mushy?", "My rice turned out gluey."),
        "Too much water, too much stirring, or skipping the rinse. Rinse off the surface starch, measure the "
        "water (1½ cups per cup of basmati), don't stir while it cooks, and let it rest covered for 10 "
        "minutes before fluffing with a fork.",
    ),
    (
        ("Why did my garlic taste bitter?", "My garlic burned. Can I still use it?"),
        "Garlic burns quickly — in seconds over high heat — and burnt garlic is bitter. Start over with "
        "fresh garlic rather than keeping it. Add garlic after onions have softened, keep the heat moderate, "
        "and stir until it's just fragrant and pale golden, about 30–60 seconds.",
    ),
    (
        ("Why are my pancakes flat?", "My pancakes don't rise."),
        "Check that your baking powder is fresh: a teaspoon in hot water should fizz vigorously. Also avoid "
        "overmixing, let the batter rest for 5 minutes, and don't press the pancakes with the spatula after "
        "flipping.",
    ),
)

# Kitchen conversion data: grams per US cup (240 ml) for common ingredients.
CUP_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("plain flour", 125),
    ("granulated sugar", 200),
    ("packed brown sugar", 220),
    ("butter", 227),
    ("icing sugar", 120),
    ("rolled oats", 90),
    ("uncooked white rice", 185),
    ("milk", 240),
    ("water", 240),
    ("honey", 340),
    ("grated parmesan", 100),
    ("cocoa powder", 85),
    ("chopped walnuts", 120),
)
CUP_AMOUNTS: tuple[Fraction, ...] = (
    Fraction(1, 4),
    Fraction(1, 3),
    Fraction(1, 2),
    Fraction(2, 3),
    Fraction(3, 4),
    Fraction(1),
    Fraction(3, 2),
    Fraction(2),
    Fraction(5, 2),
    Fraction(3),
)
CUP_WORDS = {Fraction(1, 3): "⅓", Fraction(2, 3): "⅔"}

# (Fahrenheit, Celsius as usually written, gas mark)
OVEN: tuple[tuple[int, int, int], ...] = (
    (275, 140, 1),
    (300, 150, 2),
    (325, 160, 3),
    (350, 180, 4),
    (375, 190, 5),
    (400, 200, 6),
    (425, 220, 7),
    (450, 230, 8),
    (475, 240, 9),
)

SYSTEM_PROMPTS: tuple[str, ...] = (
    "You are Hearth, a friendly home-cooking assistant. Give practical, reliable answers.",
    "You are a helpful cooking assistant. Be clear and encouraging, and mention food safety where it "
    "matters.",
    "You help home cooks with recipes, techniques and kitchen questions.",
)
OPENERS: tuple[str, ...] = ("", "", "", "Hi! ", "Quick kitchen question: ", "Help! ", "Hello. ")


def _cups(amount: Fraction) -> str:
    if amount in CUP_WORDS:
        return CUP_WORDS[amount]
    return _fraction_text(amount)


def _chat(rng: random.Random, turns: list[tuple[str, str]]) -> dict:
    messages: list[dict[str, str]] = []
    if rng.random() < 0.35:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    for number, (user, assistant) in enumerate(turns):
        if number == 0:
            user = rng.choice(OPENERS) + user
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


def compose_recipe(rng: random.Random) -> dict:
    """A recipe request, scaled to the asked servings where the recipe scales, maybe with a follow-up."""
    recipe = rng.choice(RECIPES)
    if recipe.scalable and rng.random() < 0.7:
        sizes = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24)
        choices = [n for n in sizes if recipe.servings / 2 <= n <= recipe.servings * 3]
        servings = rng.choice(choices)
        if recipe.yields == "people":
            asks, yields = RECIPE_ASKS_FOR_PEOPLE, "people" if servings != 1 else "person"
        else:
            asks, yields = RECIPE_ASKS_FOR_ITEMS, recipe.yields
        ask = rng.choice(asks).format(dish=recipe.dish, n=servings, yields=yields)
    else:
        servings = recipe.servings
        ask = rng.choice(RECIPE_ASKS).format(dish=recipe.dish)
    turns = [(ask, render_recipe(recipe, servings))]
    if rng.random() < 0.45:
        turns.append(rng.choice(recipe.follow_ups))
    return _chat(rng, turns)


def compose_technique(rng: random.Random) -> dict:
    """A technique question answered step by step."""
    asks, answers = rng.choice(TECHNIQUES)
    return _chat(rng, [(rng.choice(asks), rng.choice(answers))])


def compose_substitution(rng: random.Random) -> dict:
    """An ingredient substitution."""
    asks, answer = rng.choice(SUBSTITUTIONS)
    return _chat(rng, [(rng.choice(asks), answer)])


def compose_troubleshooting(rng: random.Random) -> dict:
    """Something went wrong in the kitchen: likely causes and the fix."""
    asks, answer = rng.choice(TROUBLESHOOTING)
    return _chat(rng, [(rng.choice(asks), answer)])


def compose_food_safety(rng: random.Random) -> dict:
    """Safe cooking temperatures or storage times."""
    if rng.random() < 0.55:
        food, celsius, fahrenheit, note = rng.choice(SAFE_TEMPERATURES)
        ask = rng.choice(TEMPERATURE_ASKS).format(food=food)
        answer = (
            f"Cook {food} to an internal temperature of at least {celsius} °C ({fahrenheit} °F), measured "
            f"with a thermometer in the thickest part. {note}"
        )
    else:
        food, fridge, freezer = rng.choice(STORAGE)
        ask = rng.choice(STORAGE_ASKS).format(food=food)
        answer = (
            f"In the fridge (at 5 °C / 40 °F or below): {fridge}. In the freezer: {freezer}. Frozen food "
            "stays safe indefinitely, but quality drops after that time. Cool cooked food and get it into "
            "the fridge within 2 hours, and when in doubt, throw it out."
        )
        if food.startswith("raw"):
            answer += " Thaw frozen raw meat or fish in the fridge, never on the counter."
    return _chat(rng, [(ask, answer)])


def compose_conversion(rng: random.Random) -> dict:
    """A measurement conversion, computed from the cup-weight and oven tables."""
    kind = rng.random()
    if kind < 0.55:
        ingredient, grams_per_cup = rng.choice(CUP_WEIGHTS)
        cups = rng.choice(CUP_AMOUNTS)
        grams = round(grams_per_cup * cups)
        unit = "cup" if cups <= 1 else "cups"
        ask = rng.choice(
            (
                f"How many grams is {_cups(cups)} {unit} of {ingredient}?",
                f"Convert {_cups(cups)} {unit} of {ingredient} to grams, please.",
                f"My recipe says {_cups(cups)} {unit} of {ingredient}. How much is that on a scale?",
            )
        )
        answer = (
            f"About {grams} g. One US cup (240 ml) of {ingredient} weighs roughly {grams_per_cup} g, so "
            f"{_cups(cups)} × {grams_per_cup} g ≈ {grams} g."
        )
        if ingredient == "plain flour":
            answer += (
                " Weights for flour vary with how it's scooped; spooning it into the cup and levelling "
                "gives the lighter figure used here."
            )
    elif kind < 0.85:
        fahrenheit, celsius, gas = rng.choice(OVEN)
        if rng.random() < 0.5:
            ask = rng.choice(
                (f"What is {fahrenheit} °F in Celsius?", f"My recipe says {fahrenheit}°F. What's that in °C?")
            )
            exact = (fahrenheit - 32) * 5 / 9
            answer = (
                f"{fahrenheit} °F is {exact:.0f} °C, which recipes usually round to {celsius} °C (gas mark "
                f"{gas}). For a fan oven, reduce it by about 20 degrees, to {celsius - 20} °C."
            )
        else:
            ask = rng.choice((f"What is gas mark {gas} in Celsius?", f"What temperature is gas mark {gas}?"))
            answer = (
                f"Gas mark {gas} is about {celsius} °C or {fahrenheit} °F "
                f"(about {celsius - 20} °C in a fan oven)."
            )
    else:
        spoons = rng.choice((1, 2, 3, 4, 6, 8))
        unit = rng.choice(("tablespoon", "teaspoon"))
        per = 15 if unit == "tablespoon" else 5
        plural = unit if spoons == 1 else unit + "s"
        ask = rng.choice(
            (
                f"How many ml is {spoons} {plural}?",
                f"I don't have measuring spoons. How much is {spoons} {plural}?",
            )
        )
        answer = f"{spoons} {plural} is {spoons * per} ml — a {unit} holds {per} ml."
        if unit == "teaspoon" and spoons % 3 == 0:
            answer += f" That's the same as {spoons // 3} tablespoon{'s' if spoons > 3 else ''}."
        if unit == "tablespoon" and spoons in (4, 8):
            answer += f" That's {'¼' if spoons == 4 else '½'} of a US cup."
    return _chat(rng, [(ask, answer)])


COMPOSERS = (
    (compose_recipe, 34),
    (compose_technique, 16),
    (compose_substitution, 11),
    (compose_troubleshooting, 11),
    (compose_food_safety, 12),
    (compose_conversion, 16),
)


def compose_row(rng: random.Random) -> dict:
    """Pick a kind of cooking question and compose a chat for it."""
    composer = rng.choices([c for c, _ in COMPOSERS], weights=[w for _, w in COMPOSERS])[0]
    return composer(rng)


def cooking_rows(count: int, rng: random.Random) -> list[dict]:
    """Distinct chats for the `hearth-cooking` datanet."""
    return draw_unique(compose_row, count, rng)
