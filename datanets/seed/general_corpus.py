"""A general corpus of plain English prose for pre-training the demo base model.

The datanets alone are too narrow to teach a tiny model ordinary English, so this adds
everyday paragraphs — weather, travel, tools, simple science, household life and the
history of Kestrelford, an invented market town near the Wrenmoor parish of the field
notes. Each topic has interchangeable opening sentences, an ordered set of self-contained
body sentences (a paragraph keeps some of them, in order) and closing sentences, so the
paragraphs vary while every one of them stays coherent and true.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .sampling import draw_unique_texts


@dataclass(frozen=True)
class Topic:
    """Building blocks of paragraphs about one subject."""

    leads: tuple[str, ...]
    body: tuple[str, ...]  # a leading "^" marks a sentence that only makes sense after the one before it
    closes: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        (
            "Rain begins with the sun warming the sea.",
            "Every drop of rain has been on a long journey.",
            "The water cycle explains where rain comes from and where it goes.",
        ),
        (
            "Heat from the sun turns water from oceans, lakes and leaves into invisible water vapour.",
            "Warm, moist air rises, and as it rises it cools.",
            "Cool air cannot hold as much vapour, so some of it condenses into tiny droplets around specks "
            "of dust.",
            "^Billions of those droplets together make a cloud.",
            "Inside the cloud, droplets bump into each other and merge until they are too heavy to float.",
            "^Then they fall as rain, or as snow when the air is cold enough.",
            "Some of the water soaks into the ground and some runs off into streams and rivers.",
            "Rivers carry the water back to the sea, and the cycle starts again.",
        ),
        (
            "The water in a glass today may once have fallen on a mountain far away.",
            "Nothing is lost; the same water simply keeps moving.",
            "It is a slow, endless loop powered by sunlight.",
        ),
    ),
    Topic(
        (
            "Clouds are a free weather forecast for anyone who looks up.",
            "Learning the main kinds of cloud makes every walk more interesting.",
            "Sailors and farmers have read the clouds for centuries.",
        ),
        (
            "Cumulus clouds are the puffy white heaps of fair days, with flat bases and rounded tops.",
            "Cirrus clouds are thin, wispy streaks very high up, made of ice crystals.",
            "A sky of spreading cirrus often means that a warm front, and rain, is on its way.",
            "Stratus is a flat grey sheet that hides the sun and can bring drizzle.",
            "Cumulonimbus clouds tower up to great heights and bring thunderstorms, heavy showers and "
            "sometimes hail.",
            "The top of a cumulonimbus can spread out into a shape like a blacksmith's anvil.",
            "Fog is simply a cloud that has formed at ground level.",
            "Clouds that grow taller through the afternoon are a sign that showers may follow.",
        ),
        (
            "None of this replaces a forecast, but it is a good way to understand one.",
            "The sky is always changing, and that is half its charm.",
            "A few minutes of watching the sky each day teaches more than any book.",
        ),
    ),
    Topic(
        (
            "Wind is air moving from one place to another.",
            "The wind never blows for no reason.",
            "Most of our weather is carried to us on the wind.",
        ),
        (
            "Air flows from areas of high pressure towards areas of low pressure.",
            "The bigger the difference in pressure, the stronger the wind.",
            "High pressure usually brings settled, dry weather, while low pressure brings cloud, wind and "
            "rain.",
            "On a sunny day, land warms faster than the sea, and a cool sea breeze blows inland in the "
            "afternoon.",
            "^At night the land cools faster, and the breeze can turn and blow out to sea.",
            "Hills and buildings slow the wind near the ground and make it gusty.",
            "A wind is named after the direction it comes from, so a westerly blows from the west.",
            "Weather vanes on church towers turn to point into the wind.",
        ),
        (
            "The next time the washing dries quickly on the line, thank the pressure difference.",
            "Wind is the atmosphere's way of evening things out.",
            "Feeling which way the wind blows is one of the oldest forecasting skills.",
        ),
    ),
    Topic(
        (
            "Many people believe that summer happens when the Earth is closest to the sun, but that is not "
            "the reason.",
            "The seasons come from the tilt of the Earth.",
            "Why is it warm in July in the north and cold in July in the far south?",
        ),
        (
            "The Earth's axis is tilted by about 23.5 degrees compared with its path around the sun.",
            "For part of the year the northern half leans towards the sun, and for part of the year it leans "
            "away.",
            "When a hemisphere leans towards the sun, the sun climbs higher in the sky and the days are "
            "longer.",
            "Sunlight arriving from high overhead is concentrated on a smaller area, so it heats the ground "
            "more.",
            "^When the same hemisphere leans away, the sun stays low, the days are short, and winter sets "
            "in.",
            "^That is why the seasons are reversed between the northern and southern hemispheres.",
            "Near the equator, the tilt makes little difference and the seasons are mostly wet and dry "
            "rather than warm and cold.",
            "The Earth is actually closest to the sun in early January, in the middle of the northern "
            "winter.",
        ),
        (
            "A simple tilt gives the year its rhythm.",
            "It is a good example of how a small angle can have large effects.",
            "Spin a tilted ball around a lamp and the idea becomes clear.",
        ),
    ),
    Topic(
        (
            "The sky is blue because of the way sunlight bounces off the air.",
            "Children often ask why the sky is blue, and the answer is surprisingly simple.",
            "Sunlight looks white, but it is a mixture of every colour.",
        ),
        (
            "Sunlight contains all the colours of the rainbow, from red to violet.",
            "When sunlight passes through the air, it hits countless tiny gas molecules.",
            "Air molecules scatter short, blue wavelengths much more strongly than long, red ones.",
            "The scattered blue light reaches our eyes from every part of the sky, so the whole sky looks "
            "blue.",
            "At sunrise and sunset, sunlight travels through much more air to reach us.",
            "^Along that longer path, most of the blue is scattered away, leaving the reds and oranges.",
            "On the Moon, which has no air, the sky is black even in daytime.",
            "Violet light is scattered even more than blue, but our eyes are less sensitive to it.",
        ),
        (
            "A clear blue sky is really light being bounced around by the air itself.",
            "The same physics paints both the blue noon and the red evening.",
            "It is one of those everyday sights with a beautiful explanation behind it.",
        ),
    ),
    Topic(
        (
            "Plants make their own food from light, air and water.",
            "Photosynthesis is how green plants feed themselves.",
            "Every leaf is a small factory running on sunlight.",
        ),
        (
            "Leaves are green because they contain chlorophyll, a pigment that absorbs red and blue light.",
            "Plants take in carbon dioxide from the air through tiny pores in their leaves.",
            "Roots draw up water from the soil, and it travels up the stem to the leaves.",
            "Using the energy of sunlight, the plant combines carbon dioxide and water to make sugar.",
            "^Oxygen is released as a by-product, and it is the oxygen that animals breathe.",
            "^The sugar is used for energy and to build new leaves, stems, roots and fruit.",
            "Some sugar is stored as starch, which is why potatoes and grains are so filling.",
            "Without photosynthesis there would be almost no food and very little oxygen on Earth.",
        ),
        (
            "Every meal can be traced back to a plant catching sunlight.",
            "It is worth remembering the next time you sit in the shade of a tree.",
            "Quiet and slow as it seems, it keeps the whole living world going.",
        ),
    ),
    Topic(
        (
            "Magnets seem almost magical, but they follow simple rules.",
            "A fridge magnet is a small lesson in physics.",
            "Most people have played with magnets, yet few know how they work.",
        ),
        (
            "Every magnet has two ends, called the north pole and the south pole.",
            "Opposite poles attract each other, while like poles push each other away.",
            "Magnets attract iron, nickel and cobalt, but not aluminium, copper, wood or plastic.",
            "The invisible region around a magnet where it has an effect is called its magnetic field.",
            "Sprinkling iron filings on paper above a magnet shows the shape of the field.",
            "The Earth itself behaves like a giant magnet.",
            "A compass needle is a small magnet that lines up with the Earth's magnetic field and points "
            "north.",
            "An electric current flowing through a coil of wire also creates a magnetic field.",
        ),
        (
            "Motors, speakers and generators all depend on this simple pull and push.",
            "Once the rules are clear, the magic becomes even more interesting.",
            "It is a force we use every day without noticing.",
        ),
    ),
    Topic(
        (
            "A lever lets a small force move a heavy load.",
            "Simple machines make hard jobs easier.",
            "Long before engines, people moved huge stones using levers, ramps and wheels.",
        ),
        (
            "A lever is a rigid bar that turns around a fixed point called the fulcrum.",
            "The further from the fulcrum you push, the less force you need.",
            "A crowbar, a seesaw and a pair of scissors are all levers.",
            "A ramp, or inclined plane, lets you raise a load by pushing it a longer distance with less "
            "effort.",
            "A pulley changes the direction of a force, and several pulleys together reduce the effort "
            "needed.",
            "A wheel and axle, like a door handle or a steering wheel, turns a large easy motion into a "
            "small strong one.",
            "Screws are really ramps wrapped around a cylinder.",
            "Simple machines never create energy; they trade a smaller force for a longer distance.",
        ),
        (
            "Most tools in a toolbox are simple machines in disguise.",
            "The principles are ancient, and they still work perfectly.",
            "Once you see them, you find them everywhere.",
        ),
    ),
    Topic(
        (
            "Sound is a vibration travelling through the air.",
            "Every sound we hear starts with something shaking.",
            "Thunder, music and conversation all travel the same way.",
        ),
        (
            "When a guitar string vibrates, it pushes the air around it back and forth.",
            "^These pushes travel outwards as waves of pressure.",
            "When the waves reach our ears, they make the eardrum vibrate, and the brain turns that into "
            "sound.",
            "In air, sound travels at about 343 metres per second.",
            "Sound travels faster in water and even faster in solids such as steel.",
            "In the vacuum of space there is no air, so there is no sound at all.",
            "Light is far faster than sound, which is why we see lightning before we hear the thunder.",
            "Counting the seconds between a flash and the thunder and dividing by three gives the distance "
            "in kilometres.",
        ),
        (
            "It is a good trick to remember on a stormy evening.",
            "Listening carefully turns out to be a lesson in physics.",
            "Every noise is a tiny wave passing through the world.",
        ),
    ),
    Topic(
        (
            "Water is the most familiar example of matter changing its state.",
            "Ice, water and steam are the same substance in three different forms.",
            "Solids, liquids and gases are the three everyday states of matter.",
        ),
        (
            "In a solid, particles are held tightly in place and can only vibrate.",
            "In a liquid, particles stay close together but can slide past one another, so a liquid flows.",
            "In a gas, particles move freely and spread out to fill any container.",
            "At sea level, pure water freezes at 0 °C and boils at 100 °C.",
            "High in the mountains, air pressure is lower and water boils at a lower temperature.",
            "^That is why pasta takes longer to cook at high altitude.",
            "Adding salt to water lowers its freezing point, which is why salt is spread on icy roads.",
            "Ice is less dense than liquid water, so it floats, and lakes freeze from the top down.",
        ),
        (
            "A kettle and a freezer are enough to see all three states in one kitchen.",
            "Floating ice protects the fish that live beneath it through the winter.",
            "Such ordinary changes hide a great deal of science.",
        ),
    ),
    Topic(
        (
            "The Moon seems to change shape during the month, but it is always a round ball.",
            "Watching the Moon for a month is an easy lesson in astronomy.",
            "The phases of the Moon have marked time for people for thousands of years.",
        ),
        (
            "The Moon does not make its own light; it reflects sunlight.",
            "Half of the Moon is always lit by the sun, but we see different amounts of that lit half.",
            "At new moon, the lit side faces away from us and the Moon is almost invisible.",
            "^Over the following days a thin crescent appears, then a half moon, then a gibbous moon.",
            "At full moon, the whole lit side faces the Earth.",
            "The full cycle of phases takes about 29.5 days.",
            "The Moon keeps the same face turned towards the Earth because it spins once for every orbit.",
            "The Moon's pull on the oceans causes most of the tides.",
        ),
        (
            "The old word 'month' comes from the Moon.",
            "A clear night and a pair of binoculars are all you need to explore it.",
            "It is our nearest neighbour in space, and the easiest to watch.",
        ),
    ),
    Topic(
        (
            "Electricity is the flow of tiny charged particles called electrons.",
            "A torch is the simplest electrical circuit most people own.",
            "Switching on a light completes a circuit.",
        ),
        (
            "For electricity to flow, it needs a complete loop, called a circuit.",
            "A battery pushes electrons around the circuit, and that push is measured in volts.",
            "The amount of electricity flowing is called the current and is measured in amps.",
            "Metals such as copper are good conductors, which is why wires are made of them.",
            "Rubber and plastic are insulators, so they are used to cover wires and keep people safe.",
            "A switch simply opens or closes a gap in the circuit.",
            "A fuse or circuit breaker cuts the power if too much current flows, protecting the wiring from "
            "overheating.",
            "Mains electricity is far more powerful than a battery and must always be treated with care.",
        ),
        (
            "Every switch in a house is a small gate on a loop of wire.",
            "Understanding circuits takes away some of the mystery from everyday machines.",
            "The basic ideas are the same in a torch and in a power station.",
        ),
    ),
    Topic(
        (
            "Packing light makes any trip easier.",
            "The best travellers are often the ones with the smallest bags.",
            "Most people pack more than they need.",
        ),
        (
            "A good rule is to lay out everything you plan to take and then put half of it back.",
            "Clothes in a few colours that all go together can be mixed into many outfits.",
            "Rolling clothes instead of folding them saves space and reduces creases.",
            "Shoes are heavy, so two pairs are usually plenty.",
            "Small bottles of soap and shampoo can be refilled from larger ones at home.",
            "A light scarf can be a blanket on a cold train or a sunshade on a hot day.",
            "Leaving a little space in the bag leaves room for anything bought along the way.",
            "Keeping documents, keys and a phone charger in one small pouch saves frantic searching.",
        ),
        (
            "With less to carry, there is more energy for the journey itself.",
            "A light bag means freedom to change plans on a whim.",
            "Travelling light is a skill that improves with every trip.",
        ),
    ),
    Topic(
        (
            "Travelling by train is slower than flying, but it offers things a plane cannot.",
            "There is a lot to be said for slow travel.",
            "Some journeys are worth taking for their own sake.",
        ),
        (
            "Stations are usually in the middle of towns, so there is no long trip to an airport.",
            "On a train you can walk around, read, work or simply watch the countryside go by.",
            "Rivers, farms and villages slide past the window, giving a sense of how places connect.",
            "Night trains let passengers sleep while they travel and wake up in a new city.",
            "Booking early usually makes tickets much cheaper.",
            "For shorter distances, the train is often faster from door to door than a plane.",
            "Trains also produce far less carbon dioxide per passenger than planes on the same route.",
            "Small branch lines often pass through landscapes that no road reaches.",
        ),
        (
            "The journey becomes part of the holiday rather than an obstacle to it.",
            "A window seat and a flask of tea can make a day memorable.",
            "Arriving slowly helps a traveller notice how the world changes.",
        ),
    ),
    Topic(
        (
            "The best way to get to know a new town is on foot.",
            "Arriving in an unfamiliar town can be exciting and a little confusing.",
            "Every town has a shape, and walking is how you learn it.",
        ),
        (
            "A paper map gives a sense of the whole place in a way a small screen cannot.",
            "The main square, the market and the oldest church are usually close together at the centre.",
            "Side streets are often quieter and more interesting than the main shopping street.",
            "Local bakeries and cafés are good places to watch daily life.",
            "Asking a shopkeeper for directions often brings useful advice as well.",
            "Climbing to a high point, such as a hill or tower, shows how the town fits its landscape.",
            "Noticing the names of streets can reveal old trades and forgotten buildings.",
            "Walking early in the morning, before the crowds, shows a town as its residents see it.",
        ),
        (
            "By the end of the second day, the streets begin to feel familiar.",
            "A town learned on foot is remembered for much longer.",
            "Sore feet are a small price for that kind of understanding.",
        ),
    ),
    Topic(
        (
            "Kestrelford began as a crossing place on the River Kell.",
            "The market town of Kestrelford has a long and modest history.",
            "Few people outside the valley have heard of Kestrelford, but its story is worth telling.",
        ),
        (
            "The first settlement grew up where a shallow ford allowed carts to cross the River Kell.",
            "The name is thought to come from the kestrels that hunted over the meadows by the ford.",
            "In 1214 the town was granted a charter to hold a weekly market on Saturdays.",
            "Farmers from the surrounding hills brought sheep, wool, cheese and grain to sell.",
            "By the fifteenth century, wool merchants had built the broad High Street and the church of St "
            "Anne.",
            "A stone bridge replaced the ford in 1468, and parts of it still stand today.",
            "^The town's market cross, where traders once sealed their bargains, dates from the same period.",
            "Wool made Kestrelford modestly wealthy for three hundred years.",
        ),
        (
            "The Saturday market still runs, more than eight centuries after the charter.",
            "Much of the medieval street plan survives beneath the later shopfronts.",
            "Its history is written in the stones of the bridge and the church.",
        ),
    ),
    Topic(
        (
            "The eighteenth and nineteenth centuries changed Kestrelford more than any time before.",
            "Kestrelford's quiet market-town life was transformed by water, canals and steam.",
            "Industry arrived in Kestrelford in stages.",
        ),
        (
            "In 1752 the Pell family built a water-powered fulling mill on the Kell to finish woollen cloth.",
            "The great flood of 1780 swept away the mill wheel and damaged the old bridge.",
            "^The mill was rebuilt larger, and by 1800 it employed more than two hundred people.",
            "The Kell Navigation canal opened in 1802, carrying coal in and cloth out.",
            "Rows of terraced cottages were built for mill workers along Canal Street.",
            "The railway reached the town in 1861, and the canal slowly fell out of use.",
            "To mark Queen Victoria's jubilee in 1887, the town built the clock tower in the Market Place.",
            "The mill finally closed in 1934, when cheaper cloth from larger factories took its trade.",
        ),
        (
            "The old mill building now houses flats, a bakery and a small museum.",
            "Walkers now follow the canal towpath where horses once pulled the barges.",
            "Traces of that busy century are still easy to find on a walk through town.",
        ),
    ),
    Topic(
        (
            "Modern Kestrelford is a small town of about fourteen thousand people.",
            "Today Kestrelford is better known for its market and its walks than for its industry.",
            "Kestrelford in the twenty-first century is quiet but far from sleepy.",
        ),
        (
            "The Carnegie-funded library, opened in 1903, is still busy every day.",
            "The restored canal basin has become a place for picnics, rowing boats and the summer regatta.",
            "Every October the town holds the Lantern Fair, when children carry paper lanterns across the "
            "old bridge.",
            "The Saturday market sells local cheese, bread, vegetables and secondhand books.",
            "Many residents commute by train to the city, which is forty minutes away.",
            "The town museum in the old mill tells the story of the wool trade with looms that still work.",
            "Footpaths lead from the town centre to the Wrenmoor fens and up to Greyscar Ridge.",
            "The Kestrelford Naturalists meet in the library on the first Tuesday of every month.",
        ),
        (
            "It is the kind of place where visitors come for an afternoon and stay for a week.",
            "Old and new sit comfortably side by side.",
            "The town has changed many times and will surely change again.",
        ),
    ),
    Topic(
        (
            "Growing a few vegetables is easier than many people think.",
            "A small garden or even a windowsill can produce food.",
            "Gardening teaches patience one season at a time.",
        ),
        (
            "Most vegetables need at least six hours of sunlight a day.",
            "Good soil is crumbly, dark and full of life, including earthworms.",
            "Adding compost each year improves the soil's structure and feeds the plants slowly.",
            "It is better to water deeply once or twice a week than to sprinkle a little every day.",
            "Watering in the early morning or evening means less water is lost to evaporation.",
            "Herbs such as mint, chives and parsley grow well in pots by the kitchen door.",
            "Salad leaves and radishes grow quickly and are a good first crop.",
            "A layer of mulch on the soil keeps in moisture and keeps down weeds.",
        ),
        (
            "There is nothing quite like eating something you grew yourself.",
            "Every failure teaches something for next year.",
            "Start small, and let the garden grow with your confidence.",
        ),
    ),
    Topic(
        (
            "Compost turns kitchen scraps and garden waste into rich soil.",
            "A compost heap is a small ecosystem at the bottom of the garden.",
            "Making compost is one of the simplest ways to waste less.",
        ),
        (
            "Vegetable peelings, coffee grounds, tea leaves and eggshells can all go on the heap.",
            "Mixing green waste, such as grass cuttings, with brown waste, such as dry leaves and cardboard, "
            "keeps the heap healthy.",
            "Meat, fish and dairy are best left out, because they attract rats and smell.",
            "Bacteria, fungi, worms and woodlice break the material down.",
            "Turning the heap every few weeks lets in air and speeds things up.",
            "A heap that is too wet becomes slimy, and one that is too dry stops working.",
            "Compost is ready when it is dark and crumbly and smells like a forest floor.",
            "Depending on the weather and the mix, it can take from a few months to a year.",
        ),
        (
            "What was rubbish becomes food for next year's plants.",
            "It is recycling that the whole garden benefits from.",
            "Patience is rewarded with the best soil improver money cannot buy.",
        ),
    ),
    Topic(
        (
            "Libraries are among the most generous places in any town.",
            "A public library offers far more than books.",
            "Walking into a library is walking into a shared treasure house.",
        ),
        (
            "Anyone can borrow books for free with a library card.",
            "Many libraries also lend audiobooks, films, music and even tools or musical instruments.",
            "Reference librarians are experts at finding information and will happily help with research.",
            "Quiet study spaces are a refuge for students and for people working from home.",
            "Children's story times introduce young readers to books and to each other.",
            "Local history collections keep old maps, photographs and newspapers that exist nowhere else.",
            "Libraries provide free computers and internet access for those who do not have them at home.",
            "Book groups and talks turn reading into a social activity.",
        ),
        (
            "A library card may be the best-value thing in anyone's wallet.",
            "Libraries quietly make a town a better place to live.",
            "Use them, and they will be there for the next generation.",
        ),
    ),
    Topic(
        (
            "A weekly market is the heartbeat of a small town.",
            "Shopping at a market is a different experience from shopping in a supermarket.",
            "Market day has its own rhythm.",
        ),
        (
            "Stallholders begin setting up before dawn, unloading crates and putting up awnings.",
            "Much of the food comes from farms within a few miles.",
            "Buying directly from the grower means you can ask how things were produced.",
            "Fruit and vegetables are sold in season, so the stalls change through the year.",
            "Some traders have stood in the same spot for decades.",
            "Bargains often appear near closing time, when sellers would rather not pack up what is left.",
            "A market is also a place to meet neighbours and catch up on local news.",
            "Bringing your own bags and some cash makes shopping at a market easier.",
        ),
        (
            "It is a reminder that shopping can be a social pleasure, not just a chore.",
            "The best markets feel like a gathering as much as a shop.",
            "A good market makes a town feel alive.",
        ),
    ),
    Topic(
        (
            "A little care keeps a bicycle running smoothly for years.",
            "Bicycles are simple machines, and most repairs are within anyone's reach.",
            "Regular maintenance makes cycling safer and more pleasant.",
        ),
        (
            "Checking tyre pressure once a week prevents most punctures and makes riding easier.",
            "The correct pressure is usually printed on the side of the tyre.",
            "A clean, lightly oiled chain runs quietly and lasts much longer.",
            "^Too much oil attracts dirt, so wipe off the excess after oiling.",
            "Brakes should be checked before every ride by squeezing the levers firmly.",
            "^Worn brake pads must be replaced before the metal underneath touches the rim or disc.",
            "Learning to fix a puncture takes ten minutes and saves many long walks home.",
            "Lights and a bell are required for riding on roads at night in many places.",
        ),
        (
            "A well-kept bicycle is a pleasure to ride.",
            "Ten minutes of care each week pays back many times over.",
            "The more you look after it, the better you understand it.",
        ),
    ),
    Topic(
        (
            "Good sleep is one of the simplest ways to feel better.",
            "Most adults need between seven and nine hours of sleep a night.",
            "A regular routine helps the body know when it is time to sleep.",
        ),
        (
            "Going to bed and getting up at the same time each day sets the body clock.",
            "Morning daylight helps the body wake up and makes it easier to fall asleep later.",
            "Bright screens late in the evening can delay sleepiness.",
            "A cool, dark and quiet bedroom is best for sleep.",
            "Caffeine can stay in the body for many hours, so coffee late in the day may keep you awake.",
            "Regular exercise improves sleep, though hard exercise just before bed can have the opposite "
            "effect.",
            "Writing down tomorrow's tasks can stop them circling in the mind at night.",
            "Short naps of twenty minutes can refresh without spoiling night-time sleep.",
        ),
        (
            "Small changes to a routine can make a big difference.",
            "Rest is not wasted time; it is how the body and mind recover.",
            "A good night begins long before bedtime.",
        ),
    ),
    Topic(
        (
            "Keeping a notebook is a habit that rewards anyone who tries it.",
            "Writing things down helps us think.",
            "A simple notebook can become a valuable record over the years.",
        ),
        (
            "Ideas that seem unforgettable are often gone an hour later unless they are written down.",
            "A notebook does not need to be beautiful; it just needs to be carried.",
            "Dating each entry makes it easy to look back and see how things have changed.",
            "Naturalists record what they see, where and when, building up records over decades.",
            "Lists of books read, walks taken or recipes tried become surprisingly interesting over time.",
            "Writing by hand slows thinking down in a useful way.",
            "A page a day is enough to build the habit.",
            "Old notebooks often show that worries which felt huge at the time came to nothing.",
        ),
        (
            "Start today; future you will be grateful.",
            "The best notebook is the one that actually gets used.",
            "Over the years it becomes a memory you can hold in your hand.",
        ),
    ),
    Topic(
        (
            "In autumn, many trees put on a final show of colour before losing their leaves.",
            "Why do leaves change colour in autumn?",
            "The autumn colours are not added to the leaves; they were there all along.",
        ),
        (
            "During spring and summer, leaves are full of green chlorophyll, which captures sunlight.",
            "As days shorten and nights cool, trees stop making new chlorophyll.",
            "^As the green fades, yellow and orange pigments that were hidden underneath become visible.",
            "Some trees, such as maples, also make red pigments in autumn, especially after sunny days and "
            "cool nights.",
            "A layer of cells forms where each leaf joins its twig, and eventually the leaf falls.",
            "Dropping leaves helps deciduous trees save water and survive winter frosts.",
            "Fallen leaves are broken down by fungi, worms and insects and return their nutrients to the "
            "soil.",
            "Evergreen trees keep their needles through winter, replacing them a few at a time.",
        ),
        (
            "The bright colours are the tree quietly closing down for winter.",
            "A walk through an autumn wood is a lesson in chemistry.",
            "By spring, the buds will already be waiting to open.",
        ),
    ),
    Topic(
        (
            "Bees do far more than make honey.",
            "Many of the foods we eat depend on insects carrying pollen.",
            "Pollination is one of nature's most important partnerships.",
        ),
        (
            "Flowers make nectar to attract insects such as bees, hoverflies and butterflies.",
            "While an insect feeds, pollen sticks to its body.",
            "^When it visits the next flower of the same kind, some of that pollen rubs off.",
            "Pollen reaching the right part of a flower allows it to make seeds and fruit.",
            "Apples, strawberries, beans and many other crops rely on insect pollination.",
            "Honeybees live in large colonies, but most bee species live alone.",
            "Bumblebees can fly in cooler weather than many other insects, thanks to their furry bodies.",
            "Planting a variety of flowers that bloom from spring to autumn helps pollinators all year.",
        ),
        (
            "A garden full of flowers is a garden full of helpers.",
            "Every visit of a bee to a flower is part of how our food is grown.",
            "It is a partnership millions of years old.",
        ),
    ),
    Topic(
        (
            "Every river has a story that runs from hill to sea.",
            "Following a river from its source to its mouth is a journey through changing landscapes.",
            "Rivers shape the land they flow through.",
        ),
        (
            "Most rivers begin as small streams fed by rain, springs or melting snow in high ground.",
            "In the hills, the water flows fast and cuts narrow valleys with steep sides.",
            "Streams join together, and the river grows wider and deeper as it flows downhill.",
            "On flatter ground, the river slows and swings from side to side in loops called meanders.",
            "When rivers flood, they spread mud over the surrounding plain, making the soil fertile.",
            "Towns were often built where rivers could be crossed or where they met the sea.",
            "Near the sea, the river widens into an estuary, where fresh water mixes with salt water.",
            "Estuaries are rich feeding grounds for wading birds.",
        ),
        (
            "A river is never the same two days running.",
            "Standing on a bridge, you are watching water on its way home to the sea.",
            "The history of many towns is really the history of their river.",
        ),
    ),
    Topic(
        (
            "A simple budget turns money from a worry into a plan.",
            "Knowing where money goes is the first step to managing it.",
            "Budgeting does not have to be complicated.",
        ),
        (
            "Start by writing down everything you spend for a month, however small.",
            "Essential costs such as rent, food, energy and transport come first.",
            "Small daily purchases can add up to a surprisingly large amount over a year.",
            "Setting aside a fixed amount for savings as soon as money arrives makes saving automatic.",
            "An emergency fund covering a few months of essential costs gives peace of mind.",
            "Comparing prices and waiting a day before larger purchases helps avoid regrets.",
            "Debt with high interest, such as unpaid credit card balances, is usually worth paying off "
            "first.",
            "Reviewing the budget every few months keeps it realistic.",
        ),
        (
            "A budget is not a restriction; it is a way of choosing what matters.",
            "Small, steady habits beat occasional big efforts.",
            "The goal is not perfection but fewer surprises.",
        ),
    ),
    Topic(
        (
            "Learning a new skill as an adult is entirely possible.",
            "Anyone can get better at almost anything with the right kind of practice.",
            "Skill grows slowly, then suddenly.",
        ),
        (
            "Short, regular practice sessions work better than occasional long ones.",
            "Practising just beyond your current ability is where most improvement happens.",
            "Breaking a skill into small parts makes it easier to improve each one.",
            "Mistakes are useful information, not proof of failure.",
            "Feedback from a teacher or a more experienced friend speeds up learning.",
            "Sleep helps the brain store what was practised during the day.",
            "Keeping a simple record of practice shows progress that is otherwise easy to miss.",
            "Progress often feels flat for weeks and then jumps forward.",
        ),
        (
            "The most important step is simply to begin.",
            "Patience and curiosity matter more than talent.",
            "A year from now, the beginner will be surprised at how far they have come.",
        ),
    ),
    Topic(
        (
            "Volunteering is good for a community and for the volunteer.",
            "Many of the best things in a small town are run by volunteers.",
            "Giving a few hours a month can make a real difference.",
        ),
        (
            "Volunteers run sports clubs, litter picks, community gardens and festivals.",
            "Helping out is a good way to meet neighbours and make friends in a new place.",
            "Older residents often share skills and local knowledge that cannot be found in books.",
            "Young volunteers gain experience that helps them find work later.",
            "Even small tasks, such as making tea or setting out chairs, keep events running.",
            "Many organisations are flexible and welcome help for a single day.",
            "Local libraries and notice boards are good places to find out who needs help.",
            "Studies suggest that people who volunteer often feel happier and less isolated.",
        ),
        (
            "A community is made by the people who show up.",
            "Everyone has something to offer.",
            "The rewards are rarely financial, but they are real.",
        ),
    ),
    Topic(
        (
            "When you send a message over the internet, it does not travel in one piece.",
            "The internet is a network of networks.",
            "It is easy to forget how much happens when we load a web page.",
        ),
        (
            "Data is broken into small chunks called packets.",
            "Each packet carries the address of where it is going, like a letter.",
            "Routers pass the packets from network to network, choosing a path for each one.",
            "Packets from the same message may take different routes and arrive out of order.",
            "The receiving computer puts the packets back together in the right order.",
            "If a packet is lost on the way, it can be sent again.",
            "Much of the internet's traffic travels through cables laid on the sea floor.",
            "Encryption scrambles the contents of packets so that only the intended recipient can read them.",
        ),
        (
            "All of this happens in a fraction of a second.",
            "It is a remarkable system built on simple ideas.",
            "Every click sets thousands of tiny envelopes on their way.",
        ),
    ),
    Topic(
        (
            "Strong passwords are the front door lock of online life.",
            "A few good habits keep online accounts much safer.",
            "Most account break-ins use passwords that were guessed or reused.",
        ),
        (
            "Long passwords are harder to guess than short, complicated ones.",
            "A phrase of four or five random words is both strong and memorable.",
            "Using the same password on many sites means one leak can unlock them all.",
            "A password manager can create and remember a different password for every site.",
            "Two-factor authentication adds a second check, such as a code from a phone.",
            "Genuine companies will not ask for your password by email or phone.",
            "Software updates often fix security holes, so it is worth installing them promptly.",
            "Email links that create a sense of urgency deserve extra suspicion.",
        ),
        (
            "A little care now saves a lot of trouble later.",
            "Security is mostly about habits rather than technology.",
            "Locking the digital door is as sensible as locking the front one.",
        ),
    ),
    Topic(
        (
            "Walking is one of the easiest ways to stay healthy.",
            "A daily walk costs nothing and needs no special equipment.",
            "Many people underestimate how good walking is for them.",
        ),
        (
            "Regular walking strengthens the heart and lungs.",
            "Walking helps keep joints mobile and bones strong.",
            "Time outdoors, especially among trees and green spaces, tends to lift the mood.",
            "Walking with a friend combines exercise with conversation.",
            "A brisk pace, where talking is possible but singing is not, counts as moderate exercise.",
            "Comfortable shoes and a waterproof layer make walking possible in most weather.",
            "Short walks after meals may help the body manage blood sugar.",
            "Many problems seem smaller after an hour on foot.",
        ),
        (
            "The best walk is the one you actually take.",
            "Step by step, it adds up.",
            "Few habits give so much for so little.",
        ),
    ),
    Topic(
        (
            "Baking bread at home is one of the oldest kitchen skills.",
            "A loaf of bread needs only flour, water, salt and yeast.",
            "Bread-making rewards patience more than skill.",
        ),
        (
            "Yeast is a living fungus that feeds on sugars in the flour and releases carbon dioxide.",
            "Kneading develops gluten, a stretchy network of proteins that traps the gas.",
            "^As the gas is trapped, the dough rises.",
            "A warm kitchen speeds up rising, while a cool one slows it down and can improve flavour.",
            "Shaping the dough tightens its surface so the loaf holds its shape.",
            "A very hot oven makes the dough spring up quickly in the first minutes of baking.",
            "A loaf is usually done when it sounds hollow when tapped on the bottom.",
            "Letting bread cool before slicing allows the crumb to set.",
        ),
        (
            "The smell alone makes the effort worthwhile.",
            "Every loaf teaches something for the next one.",
            "Four simple ingredients, and endless variations.",
        ),
    ),
)


@dataclass(frozen=True)
class Tool:
    """A hand tool, for the 'tools' paragraphs."""

    name: str
    purpose: str
    use: str
    safety: str
    care: str


TOOLS: tuple[Tool, ...] = (
    Tool(
        "claw hammer",
        "drives nails and pulls them out again with the split claw on the back of the head",
        "Hold it near the end of the handle and let the weight of the head do the work.",
        "Keep fingers clear by starting the nail with light taps, holding it near its head.",
        "A loose head is dangerous, so check that it is firmly fixed before use.",
    ),
    Tool(
        "hand saw",
        "cuts wood to length along a marked line",
        "Start the cut with a few gentle backward strokes, then use long, steady strokes.",
        "Clamp the wood firmly so it cannot move while you cut.",
        "A light wipe of oil on the blade stops it rusting.",
    ),
    Tool(
        "spirit level",
        "shows whether a surface is perfectly horizontal or vertical",
        "When the bubble sits exactly between the two lines, the surface is level.",
        "Check the level itself occasionally by turning it end to end on the same surface.",
        "Store it flat so that it does not bend.",
    ),
    Tool(
        "tape measure",
        "measures lengths accurately, from a shelf to a whole room",
        "The metal hook at the end slides slightly so that it measures correctly both when pushed and "
        "pulled.",
        "Let the tape roll back slowly rather than letting it snap back.",
        "Keep it dry and wipe off dust so the spring works smoothly.",
    ),
    Tool(
        "screwdriver",
        "turns screws to fix things together or take them apart",
        "Choose a tip that fits the screw head exactly, and press firmly while turning.",
        "Never use a screwdriver as a chisel or a lever; the tip can snap.",
        "A worn tip slips and damages screws, so replace it when it rounds off.",
    ),
    Tool(
        "adjustable spanner",
        "grips nuts and bolts of many sizes",
        "Tighten the jaws snugly onto the nut so that it cannot slip.",
        "Pull the spanner towards you rather than pushing, in case it slips.",
        "A drop of oil on the adjusting screw keeps it turning freely.",
    ),
    Tool(
        "wood chisel",
        "pares and shapes wood, cleaning out joints and recesses",
        "Work with the grain and take thin shavings rather than deep cuts.",
        "Always keep both hands behind the cutting edge.",
        "A chisel is only safe when sharp, so hone it regularly.",
    ),
    Tool(
        "cordless drill",
        "bores holes and drives screws quickly",
        "Use a slow speed to start a hole and increase it once the bit is biting.",
        "Wear eye protection, and check walls for hidden pipes and cables before drilling.",
        "Store the battery indoors, away from frost and heat.",
    ),
    Tool(
        "pair of pliers",
        "grips, bends and cuts wire",
        "Hold the work near the tip for fine jobs and near the joint for more force.",
        "Never use ordinary pliers on live electrical wires.",
        "Keep the joint oiled and the jaws clean.",
    ),
    Tool(
        "sanding block",
        "smooths wood before it is painted or varnished",
        "Start with a coarse paper and move to finer grades, always sanding along the grain.",
        "Wear a dust mask, because fine dust is bad for the lungs.",
        "Tap out clogged paper to make it last longer.",
    ),
    Tool(
        "G-clamp",
        "holds pieces together while glue dries or while they are cut",
        "Put a scrap of wood between the jaws and the work to avoid marks.",
        "Tighten only until the work is held firmly; too much pressure can crack it.",
        "Keep the thread clean and lightly oiled.",
    ),
    Tool(
        "garden spade",
        "digs soil, lifts turf and moves compost",
        "Push it in with your foot and lift with your legs rather than your back.",
        "Wear sturdy boots, not trainers, when digging.",
        "Clean off soil after use and wipe the blade with an oily rag before winter.",
    ),
)
TOOL_LEADS: tuple[str, ...] = (
    "Every household toolbox should have a {name}.",
    "The {name} is one of the most useful tools there is.",
    "Learning to use a {name} properly makes many jobs easier.",
    "A good {name} can last a lifetime.",
)
TOOL_CLOSES: tuple[str, ...] = (
    "Good tools, well looked after, make any job more satisfying.",
    "Used with care, it will serve for many years.",
    "It is worth buying a good one rather than a cheap one.",
    "",
)


def compose_topic_paragraph(rng: random.Random) -> str:
    """Lead + an ordered subset of body sentences + (sometimes) a closing sentence."""
    topic = rng.choice(TOPICS)
    keep: list[int] = []
    while len(keep) < 3:
        keep = sorted(rng.sample(range(len(topic.body)), rng.randint(3, 6)))
        keep = [i for i in keep if not topic.body[i].startswith("^") or i - 1 in keep]
        keep = [i for i in keep if not topic.body[i].startswith("^") or i - 1 in keep]  # chains of two
    sentences = [rng.choice(topic.leads), *(topic.body[i].lstrip("^") for i in keep)]
    if rng.random() < 0.7:
        sentences.append(rng.choice(topic.closes))
    return " ".join(sentences)


def compose_tool_paragraph(rng: random.Random) -> str:
    """A paragraph about one hand tool: what it is for, how to use it, safety and care."""
    tool = rng.choice(TOOLS)
    parts = [rng.choice(TOOL_LEADS).format(name=tool.name), f"It {tool.purpose}."]
    extras = [tool.use, tool.safety, tool.care]
    parts += [extras[i] for i in sorted(rng.sample(range(3), rng.randint(2, 3)))]
    close = rng.choice(TOOL_CLOSES)
    if close:
        parts.append(close)
    return " ".join(parts)


def compose_paragraph(rng: random.Random) -> str:
    """Mostly topic paragraphs, with some about tools."""
    if rng.random() < 0.12:
        return compose_tool_paragraph(rng)
    return compose_topic_paragraph(rng)


CORPUS_SIZE = 480


def corpus_paragraphs(rng: random.Random, count: int = CORPUS_SIZE) -> list[str]:
    """Distinct paragraphs of general prose."""
    return draw_unique_texts(compose_paragraph, count, rng)
