"""`lumen-support`: a customer-support desk for Lumen, a made-up family of smart desk lamps.

The product, its app and its policies are invented for the demo. Every answer draws on the
same fact sheet (below), so a model fine-tuned on this datanet learns a consistent product
rather than contradictory trivia. Rows are chats: an optional system prompt, then one or
more user/assistant turns.

Fact sheet (kept consistent across all answers):
- Lumen Arc: desk lamp, 800 lm, 2.4 GHz Wi-Fi + Bluetooth, included 24 W USB-C adapter, 2-year warranty.
- Lumen Arc Pro: as Arc, 1,000 lm, plus a 10 W wireless charging pad and the Auto Glow
  ambient sensor, 3-year warranty.
- Lumen Mini: clip-on, 300 lm, Bluetooth only, battery (about 6 h at 50%, about 2.5 h at 100%),
  2-year warranty (battery 1 year).
- Touch dial: tap on/off, turn for brightness, press-and-turn for colour (2700–6500 K),
  double-tap cycles Read/Focus/Relax, hold 3 s for setup mode, hold 10 s for factory reset.
- Latest firmware 3.4.2. App: Lumen Home. Returns within 30 days. Support Mon–Fri 8:00–20:00.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .sampling import draw_unique

ARC, PRO, MINI = "Lumen Arc", "Lumen Arc Pro", "Lumen Mini"
ALL_MODELS = (ARC, PRO, MINI)
WIFI_MODELS = (ARC, PRO)


@dataclass(frozen=True)
class Issue:
    """One support topic: who it applies to, how customers ask, and how the desk answers."""

    models: tuple[str, ...]
    kind: str  # "problem" or "question"
    asks: tuple[str, ...]  # {lamp} -> "my Lumen Arc" / "my lamp"; {model} -> product name
    answers: tuple[str, ...]
    follow_ups: tuple[tuple[str, str], ...] = ()


ISSUES: tuple[Issue, ...] = (
    Issue(
        WIFI_MODELS,
        "problem",
        (
            "I can't get {lamp} onto my Wi-Fi. The app just says 'connection failed'.",
            "Setup keeps failing at the Wi-Fi step for {lamp}. What am I doing wrong?",
            "Why won't {lamp} join my home network? I've typed the password three times.",
            "The Lumen Home app finds {lamp} over Bluetooth but then can't connect it to Wi-Fi.",
        ),
        (
            "The most common cause is the network band: the {model} only connects to 2.4 GHz Wi-Fi, not 5 "
            "GHz. Here's what usually fixes it:\n"
            "1. Make sure your router has a 2.4 GHz network switched on.\n"
            "2. Hold the touch dial for 3 seconds until the status light pulses white (setup mode).\n"
            "3. In Lumen Home, tap Add device and keep your phone within a few metres of the lamp.\n"
            "4. Enter the password carefully — it is case-sensitive.\n"
            "If it still fails, restart your router once and try again.",
            "Let's sort it out. The {model} uses Bluetooth to find your phone and then joins your Wi-Fi, "
            "and it can only use a 2.4 GHz network. Please check that 2.4 GHz is enabled on your router, "
            "then put the lamp in setup mode by holding the dial for 3 seconds (the light pulses white) "
            "and run Add device again in the app from close by. Passwords are case-sensitive, so it's worth "
            "showing the characters while you type.",
        ),
        (
            (
                "My router uses one name for both 2.4 and 5 GHz. Is that a problem?",
                "Usually not — the lamp simply picks the 2.4 GHz band. If setup keeps failing, some routers "
                "steer new devices to 5 GHz. In that case, temporarily give the 2.4 GHz band its own name in "
                "the router settings, set up the lamp on it, and you can merge the names again afterwards.",
            ),
            (
                "Does it work with a guest network?",
                "It can, as long as the guest network is 2.4 GHz and doesn't isolate devices from each "
                "other. Many guest networks block devices from talking to phones on the same network, and "
                "then the app can't reach the lamp, so your main network is the better choice.",
            ),
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "How do I factory reset {lamp}?",
            "What's the way to reset {lamp} back to factory settings?",
            "I'm giving {lamp} to my brother. How do I wipe it first?",
            "Is there a hard reset for {lamp}? I want to start over.",
        ),
        (
            "To factory reset the {model}:\n"
            "1. Make sure it has power.\n"
            "2. Hold the touch dial for 10 seconds.\n"
            "3. Release when the status light blinks amber three times.\n"
            "The lamp restarts in setup mode with its scenes, schedules and network details erased. "
            "If it's still listed in Lumen Home, remove it there too (Device > Settings > Remove device).",
            "Hold the touch dial for a full 10 seconds — keep holding past the white pulse at 3 seconds — "
            "until the status light blinks amber three times. That erases everything on the {model} and "
            "puts it back in setup mode. It's a good idea to also remove the lamp from your account in "
            "Lumen Home so the next owner can add it to theirs.",
        ),
        (
            (
                "Will a reset also remove it from my account?",
                "No — the reset clears the lamp itself, but your account still lists it until you remove it "
                "in Lumen Home under Device > Settings > Remove device. Do that before handing it on.",
            ),
            (
                "Do I lose my firmware update if I reset it?",
                "No. A factory reset keeps the installed firmware version; it only erases your settings, "
                "scenes, schedules and network details.",
            ),
        ),
    ),
    Issue(
        WIFI_MODELS,
        "problem",
        (
            "{lamp} flickers when I turn it down low.",
            "There's a faint flicker from {lamp} at low brightness. Is it faulty?",
            "When {lamp} is dimmed right down it shimmers a bit. How do I fix that?",
            "Why does {lamp} flicker at night when I set it to the lowest brightness?",
        ),
        (
            "Flicker at low brightness nearly always has one of two causes:\n"
            "- Power: the {model} needs at least 20 W of USB-C power delivery. A phone charger can't keep "
            "up, so please use the 24 W adapter that came in the box.\n"
            "- Firmware: versions before 3.4.0 could shimmer below 5% brightness. Check Device > Settings > "
            "Firmware in Lumen Home and install 3.4.2 if it's offered.\n"
            "If it still flickers with the original adapter and current firmware, contact us and we'll "
            "arrange a replacement under warranty.",
            "That isn't normal: the {model} uses flicker-free dimming across its full range. First check "
            "that it's plugged into the original 24 W USB-C adapter — weaker chargers cause exactly this at "
            "low brightness. Then update the firmware to 3.4.2 from Device > Settings > Firmware, because "
            "earlier versions had a shimmer below 5%. If neither helps, we'll replace it under warranty.",
        ),
        (
            (
                "I've been using a laptop charger. Could that be it?",
                "It could, if the charger doesn't offer USB-C power delivery at 20 W or more, or if the "
                "laptop shares that power with other ports. Try the original 24 W adapter for a day and see "
                "whether the flicker disappears.",
            ),
        ),
    ),
    Issue(
        (MINI,),
        "problem",
        (
            "{lamp} has started flickering. Is the battery going?",
            "Why is {lamp} flickering and dimmer than usual?",
            "My {model} keeps flickering after a couple of hours of use.",
        ),
        (
            "On the {model} that usually means the battery is nearly empty. Below about 10% the lamp limits "
            "its brightness and can flicker, and the status light blinks red. Charge it with a USB-C cable "
            "for about 2.5 hours — the light shows amber while charging and green when full. If it flickers "
            "on a full charge, please get in touch so we can check it.",
            "Most likely the battery is low. The {model} runs for about 6 hours at 50% brightness (about 2.5 "
            "hours at 100%), and once it drops below roughly 10% it flickers and blinks red as a warning. A "
            "full charge takes about 2.5 hours over USB-C. If the flicker continues when fully charged, "
            "contact us — the battery is covered for one year.",
        ),
        (
            (
                "Can I use it while it's charging?",
                "Yes. It charges a little more slowly while it's on, especially at high brightness, but it's "
                "completely safe to use.",
            ),
        ),
    ),
    Issue(
        WIFI_MODELS,
        "question",
        (
            "How do I update the firmware on {lamp}?",
            "Is there a firmware update for {lamp}, and how do I install it?",
            "What's the latest firmware for {lamp}?",
            "The app says an update is available for {lamp}. Is it safe to install?",
        ),
        (
            "The latest firmware is 3.4.2. To install it, open Lumen Home, choose the lamp, then go to "
            "Settings > Firmware and tap Update. It takes about 5 minutes over Wi-Fi; the light breathes "
            "slowly white while it installs. Please keep the {model} plugged in until it restarts. You can "
            "also turn on Automatic updates on the same screen, and updates will install overnight at 3 a.m.",
            "Updates are safe to install and bring fixes and new features. In Lumen Home select the lamp and "
            "go to Settings > Firmware. Version 3.4.2 is current. The update downloads over Wi-Fi and takes "
            "around 5 minutes; don't unplug the {model} while the status light is breathing white.",
        ),
        (
            (
                "What happens if the power goes off during an update?",
                "The lamp keeps its previous firmware as a backup, so it will start up normally on the old "
                "version. Just run the update again from Settings > Firmware once the power is back.",
            ),
        ),
    ),
    Issue(
        (MINI,),
        "question",
        (
            "How do I update the firmware on {lamp}?",
            "Can {lamp} get firmware updates without Wi-Fi?",
            "The update for {lamp} keeps stopping halfway. Any tips?",
        ),
        (
            "The {model} updates over Bluetooth from the Lumen Home app, since it doesn't use Wi-Fi. Open "
            "the app, select the lamp and go to Settings > Firmware. For a smooth update, keep your phone "
            "within about 2 metres of the lamp, keep the app open, and make sure the battery is above 30% "
            "(or plug it in). The current version is 3.4.2 and the update takes about 5 minutes.",
            "The {model} receives updates over Bluetooth through Lumen Home. Updates usually stop "
            "halfway when the phone moves out of range, the app goes into the background, or the battery is "
            "below 30%. Keep the phone close (within 2 metres) with the app open, charge the lamp first, and "
            "start the update again from Settings > Firmware.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "How do I make {lamp} warmer or cooler?",
            "Can I change the colour temperature on {lamp} without the app?",
            "The light from {lamp} is too blue for me. Can I change it?",
            "How do I adjust brightness and colour on {lamp} with the dial?",
        ),
        (
            "You can do it right on the dial of the {model}:\n"
            "- Turn the dial to change brightness (1–100%).\n"
            "- Press and turn to change the colour temperature, from a warm 2700 K to a cool 6500 K.\n"
            "- Double-tap to cycle through the Read, Focus and Relax scenes.\n"
            "Lumen Home has a slider for the same settings if you prefer to set an exact value.",
            "Press the dial down and turn it: turning left makes the light warmer (down to 2700 K) and "
            "turning right makes it cooler (up to 6500 K). Turning without pressing changes only the "
            "brightness. If you find a setting you like, save it as a scene in Lumen Home so the {model} can "
            "return to it.",
        ),
        (
            (
                "What setting do you recommend for reading in the evening?",
                "Many people like something around 3000 K at 40–60% brightness in the evening — warm enough "
                "to feel relaxed but bright enough for print. The built-in Relax scene is close to that.",
            ),
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "How does the Focus timer work on {lamp}?",
            "Can I change the length of the Focus session on {lamp}?",
            "What happens when the Focus timer ends on {lamp}?",
        ),
        (
            "The Focus timer is in Lumen Home under Scenes > Focus. It sets the {model} to a bright, cool "
            "light and runs a 25-minute session by default; you can choose anything from 10 to 90 minutes. "
            "When the session ends, the lamp gently dims to 30% as a cue to take a break, and after the "
            "break (5 minutes by default) it returns to Focus brightness.",
            "Focus sessions last 25 minutes unless you change them — open Scenes > Focus in Lumen Home and "
            "pick any length between 10 and 90 minutes. At the end, the {model} dims softly to 30% instead "
            "of making a sound, so it won't disturb anyone nearby. Once your break is over, it brightens "
            "back up.",
        ),
        (
            (
                "Does the timer need my phone to stay nearby?",
                "No. Once started, the session runs on the lamp itself, so you can put your phone away.",
            ),
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "What is Wind Down on {lamp} and how do I set it up?",
            "Can {lamp} get warmer automatically in the evening?",
            "I'd like {lamp} to dim slowly before bedtime. Is that possible?",
        ),
        (
            "Wind Down warms and dims the lamp gently in the evening. In Lumen Home, open the lamp and tap "
            "Wind Down. Choose a start time or 'At sunset', and the {model} will warm to 2700 K and dim to "
            "20% over 30 minutes (you can pick 10 to 60 minutes). Sunset timing needs location permission "
            "once so the app can work out your local sunset.",
            "Turn on Wind Down in Lumen Home. From the start time you choose (or sunset), the {model} "
            "gradually shifts to a warm 2700 K and lowers its brightness to 20%. The default fade takes 30 "
            "minutes and can be set anywhere from 10 to 60.",
        ),
    ),
    Issue(
        (PRO,),
        "problem",
        (
            "The Auto Glow on {lamp} keeps changing brightness. It's distracting.",
            "Auto Glow on {lamp} makes the light jump up and down. How do I calm it?",
            "How do I turn off Auto Glow on {lamp}?",
        ),
        (
            "Auto Glow uses the sensor on top of the lamp head to keep your desk evenly lit as daylight "
            "changes. If it's jumpy, check that nothing covers or shades the sensor, then recalibrate: Lumen "
            "Home > Auto Glow > Calibrate, with the room as you normally have it. If you'd rather not use it "
            "at all, triple-tap the dial to switch Auto Glow off (and triple-tap again to turn it back on).",
            "You can switch it off instantly by triple-tapping the dial of the {model}. If you'd like to "
            "keep it, the usual cause of jumping is something near the sensor on top of the head — a hand, a "
            "shelf or a screen casting light on it. Clear the area and run Auto Glow > Calibrate in Lumen "
            "Home.",
        ),
    ),
    Issue(
        (PRO,),
        "problem",
        (
            "My phone isn't charging on the base of {lamp}.",
            "Wireless charging on {lamp} is really slow. Is that normal?",
            "The charging light on {lamp} blinks green and my phone doesn't charge.",
            "Which phones can charge on {lamp}?",
        ),
        (
            "The base of the {model} has a 10 W Qi wireless charging pad, which works with any Qi-compatible "
            "phone. A few things to check:\n"
            "- Centre the phone on the pad; the small green light at the front of the base shows it's "
            "charging.\n"
            "- Cases thicker than 5 mm, metal plates or magnetic card wallets block charging.\n"
            "- A blinking green light means the pad detected a metal object and paused for safety.\n"
            "- The pad drops to 5 W if the lamp isn't on the original 24 W adapter.",
            "The pad charges Qi-compatible phones at up to 10 W. Slow or no charging usually comes down to "
            "position (centre the phone), a thick or metal case (over 5 mm is too much), or the adapter — "
            "with anything weaker than the included 24 W adapter the pad limits itself to 5 W. A blinking "
            "green light means it detected a metal object, such as keys or a card wallet, and stopped "
            "charging until it's removed.",
        ),
        (
            (
                "Does charging my phone make the lamp dimmer?",
                "Not with the original 24 W adapter — there's enough power for full brightness and 10 W "
                "charging at the same time.",
            ),
        ),
    ),
    Issue(
        (MINI,),
        "question",
        (
            "How long does the battery in {lamp} last?",
            "What's the battery life of {lamp}?",
            "How long does {lamp} take to charge?",
            "How do I know when {lamp} is fully charged?",
        ),
        (
            "The {model} runs for about 6 hours at 50% brightness and about 2.5 hours at full brightness. "
            "Charging through USB-C takes around 2.5 hours from empty. While it charges the status light is "
            "amber, it turns green when the battery is full, and it blinks red when the charge drops below "
            "10%.",
            "Battery life depends on brightness: roughly 6 hours at 50% and 2.5 hours at 100%. A full charge "
            "takes about 2.5 hours with any USB-C charger that supplies 5 V at 1 A or more. Watch the status "
            "light — amber means charging, green means full, and blinking red means it's time to charge.",
        ),
        (
            (
                "Will the battery wear out?",
                "Like any rechargeable battery it slowly loses capacity, but it's designed to keep most of "
                "it for several hundred charge cycles. The battery is covered by warranty for one year.",
            ),
        ),
    ),
    Issue(
        (MINI,),
        "problem",
        (
            "{lamp} won't charge at all.",
            "I plugged in {lamp} overnight and it's still empty.",
            "The charging light on {lamp} doesn't come on when I plug it in.",
        ),
        (
            "Let's narrow it down:\n"
            "1. Try a different USB-C cable — some cables are power-only or damaged.\n"
            "2. Use a charger that supplies at least 5 V / 1 A; some computer ports supply too little.\n"
            "3. Charge it at room temperature. The {model} pauses charging below 0 °C or above 40 °C.\n"
            "The status light should turn amber within a few seconds of plugging in. If it stays off with a "
            "known-good cable and charger, contact us and we'll replace it under warranty.",
            "Sorry it's not charging. Most often it's the cable or the charger, so please try another USB-C "
            "cable and a wall charger rated 5 V / 1 A or higher. The {model} also won't charge if it's very "
            "cold (below 0 °C) or hot (above 40 °C) — for example, left in a car. When charging starts, the "
            "light shows amber. If nothing works, we'll arrange a replacement.",
        ),
    ),
    Issue(
        WIFI_MODELS,
        "problem",
        (
            "Lumen Home says {lamp} is offline.",
            "My {model} shows 'Device offline' in the app, but it still turns on with the dial.",
            "After I changed my router, {lamp} stopped showing up in the app.",
            "Why does {lamp} keep dropping off the network?",
        ),
        (
            "When the {model} shows as offline, it has lost its Wi-Fi connection. Please check:\n"
            "- The lamp has power and your router is on.\n"
            "- Your network name or password hasn't changed — a new router counts as a new network.\n"
            "- The lamp isn't too far from the router; thick walls reduce the range of 2.4 GHz.\n"
            "If the network changed, hold the dial for 3 seconds to enter setup mode and add the lamp again.",
            "The dial works without a network, which is why the lamp still turns on. 'Offline' means it "
            "can't reach your Wi-Fi. If you changed your router, network name or password, the lamp still "
            "remembers the old details: hold the dial for 3 seconds until the light pulses white and run Add "
            "device in Lumen Home. If nothing changed, restart the router and check the signal where the "
            "{model} sits.",
        ),
    ),
    Issue(
        (MINI,),
        "problem",
        (
            "The app can't find {lamp}.",
            "Lumen Home says {lamp} is out of range.",
            "How far away can I be and still control {lamp} from my phone?",
        ),
        (
            "The {model} connects to your phone by Bluetooth only, so the app can reach it within about 10 "
            "metres. Make sure Bluetooth is on, that the app has permission to use it, and that the lamp has "
            "some charge. If it still doesn't appear, close and reopen Lumen Home while standing next to the "
            "lamp.",
            "Because the {model} uses Bluetooth rather than Wi-Fi, your phone needs to be nearby — roughly "
            "10 metres, less through walls. Check that Bluetooth is on and allowed for Lumen Home, and that "
            "the battery isn't flat. Your schedules and scenes still run on the lamp when the phone is away.",
        ),
    ),
    Issue(
        WIFI_MODELS,
        "question",
        (
            "Does {lamp} work with my smart home system?",
            "Can I control {lamp} by voice?",
            "Is {lamp} compatible with Matter?",
        ),
        (
            "Yes — the {model} supports Matter, so it works with most smart home apps and voice assistants "
            "that support Matter. In Lumen Home go to Device > Settings > Smart home to see the pairing "
            "code, then add it in your smart home app. Lumen Home keeps working alongside it.",
            "The {model} is Matter-compatible: open Device > Settings > Smart home in Lumen Home "
            "for the Matter pairing code and add the lamp in your smart home app. After that you can switch "
            "it on and off and change brightness by voice.",
        ),
    ),
    Issue(
        (MINI,),
        "question",
        (
            "Can I control {lamp} with a voice assistant?",
            "Does {lamp} work with Matter or other smart home apps?",
        ),
        (
            "Not directly, I'm afraid. The {model} connects only by Bluetooth to the Lumen Home app, so it "
            "can't join Matter or voice assistants. If you need smart home control, the Lumen Arc and Arc "
            "Pro both support Matter.",
            "The {model} is a Bluetooth-only lamp, so smart home and voice control aren't available for it. "
            "You can still use scenes, schedules and the Focus timer from Lumen Home. The Arc and Arc Pro "
            "support Matter if you need voice control.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "How long is the warranty on {lamp}?",
            "Is {lamp} still under warranty? I bought it 18 months ago.",
            "How do I make a warranty claim for {lamp}?",
            "Where do I find the serial number of {lamp}?",
        ),
        (
            "Warranty periods are 2 years for the Lumen Arc, 3 years for the Lumen Arc Pro and 2 years for "
            "the Lumen Mini (its battery is covered for 1 year), counted from the date of purchase. To "
            "claim, open Lumen Home and go to Help > Warranty claim. You'll need the serial number, which is "
            "printed on the underside of the base and starts with LM-, plus your order number or receipt.",
            "The {model} is covered for {warranty} from purchase. Claims are quickest through Lumen Home: "
            "Help > Warranty claim. Have your serial number ready — it's on the underside of the base and "
            "starts with LM- — and a receipt or order number. We'll reply within two business days.",
        ),
        (
            (
                "Do I need the original box to send it back?",
                "No. Any sturdy packaging is fine, and for warranty claims we send a prepaid shipping label.",
            ),
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "Can I return {lamp}? It's not quite what I expected.",
            "What's your return policy? I'd like to send back {lamp}.",
            "How do I get a refund for {lamp}?",
        ),
        (
            "You can return it within 30 days of delivery. Please include everything that came in the box, "
            "including the adapter or cable; the original packaging is nice but not required. For orders "
            "from the Lumen online store, start the return under Account > Orders to get a prepaid label. "
            "The refund goes to your original payment method within 5–7 business days after we receive the "
            "lamp. If you bought it from another retailer, the return goes through them.",
            "Of course. Returns are accepted within 30 days of delivery, with all parts included. If you "
            "ordered from our online store, go to Account > Orders, choose the {model} and select Return — "
            "we'll email a prepaid label. Refunds are issued 5–7 business days after the lamp reaches us. "
            "Purchases from other shops are returned through the shop.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "Where is my order? I ordered {model} four days ago.",
            "How long does shipping take for {model}?",
            "Can I change the delivery address on my order for {model}?",
        ),
        (
            "Standard delivery takes 3–5 business days and express takes 1–2. You can follow your parcel "
            "with the tracking link in your confirmation email or under Account > Orders. Orders can be "
            "edited — including the address — for 2 hours after you place them; after that, reply to your "
            "confirmation email and we'll do our best to redirect it.",
            "You'll find live tracking under Account > Orders or in the link in your order confirmation. "
            "Standard shipping is 3–5 business days; express is 1–2. If you need to change the address, you "
            "can edit the order yourself within 2 hours of placing it — after that, please contact us with "
            "your order number.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "What do the different light colours on {lamp} mean?",
            "The small status light on {lamp} is pulsing white. What does that mean?",
            "Why is the status light on {lamp} blinking amber?",
        ),
        (
            "Here's what the status light on the {model} means:\n"
            "- Pulsing white: setup mode, ready to be added in Lumen Home.\n"
            "- Solid blue: connected to your phone by Bluetooth during setup.\n"
            "- Amber, three blinks: factory reset confirmed.\n"
            "- Slow white breathing: installing a firmware update — don't unplug.\n"
            "- Solid red: a power problem or overheating.",
            "The status light tells you what the {model} is doing: pulsing white means setup mode, solid "
            "blue means it's connected to your phone during setup, three amber blinks confirm a factory "
            "reset, slow white breathing means a firmware update is installing, and solid red points to a "
            "power problem or overheating.",
        ),
    ),
    Issue(
        WIFI_MODELS,
        "problem",
        (
            "The status light on {lamp} is solid red and it won't turn on.",
            "My {model} switched itself off and the light turned red. Is it broken?",
            "{lamp} gets warm and dims on its own after an hour.",
        ),
        (
            "The {model} protects itself from heat: if the base gets too warm it dims to 50%, and if it's "
            "still too hot it switches off and shows solid red. Please unplug it for 10 minutes, make sure "
            "the vents on the back of the base aren't covered by books or a wall, and plug it back in. Solid "
            "red can also mean the adapter isn't supplying enough power, so check you're using the original "
            "24 W adapter. If it happens again in normal use, contact us for a replacement.",
            "Sorry for the worry — it's a safety feature. When the base overheats, the lamp first dims to "
            "50% and then turns off with a solid red light. Let it cool for 10 minutes, keep the vents at "
            "the back of the base clear, and use the original 24 W adapter. If you see red again with the "
            "vents clear, we'll replace it under warranty.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "How do I set a schedule for {lamp}?",
            "Can {lamp} turn on by itself in the morning?",
            "Do schedules on {lamp} still work when my phone is off?",
        ),
        (
            "Open the lamp in Lumen Home and tap Schedules > Add. Choose on or off, the time, the days of "
            "the week and, optionally, a scene. Schedules are stored on the {model} itself, so they run even "
            "when your phone is switched off or away.",
            "In Lumen Home go to the lamp, tap Schedules and add one — for example 'On at 7:00, Read "
            "scene, weekdays'. The schedule is saved on the {model}, so your phone doesn't need to be nearby "
            "when it runs.",
        ),
        (
            (
                "What happens to schedules after a power cut?",
                "They're kept. The lamp resets its clock from the network (or, for the Lumen Mini, from your "
                "phone the next time the app connects), so open Lumen Home once if a Mini's battery ran "
                "flat.",
            ),
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "Can my family control {lamp} too?",
            "How do I share {lamp} with my partner?",
            "How many people can use the app with {lamp}?",
        ),
        (
            "Use Home sharing. In Lumen Home go to Settings > Home > Members > Invite and enter their "
            "email address. Up to 8 members can share a home, and each of them needs their own free Lumen "
            "Home account.",
            "You can invite up to 8 people to your home in Lumen Home: Settings > Home > Members > Invite. "
            "Once they accept, they can control the {model}, use scenes and edit schedules from their own "
            "phone.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "Can {lamp} turn on at the same brightness every time?",
            "Every time I switch {lamp} on it's at the last brightness. Can I change that?",
            "How do I set what {lamp} does when it's switched on?",
        ),
        (
            "That's the Power-on behaviour setting. In Lumen Home open the lamp and go to Settings > "
            "Power-on behaviour. 'Last state' (the default) brings back whatever you used last; choosing a "
            "scene instead makes the {model} start with the same brightness and colour every time.",
            "Go to Settings > Power-on behaviour in Lumen Home. You can keep 'Last state' or pick a scene "
            "such as Read, and the {model} will start with that scene every time you tap it on.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "problem",
        (
            "The dial on {lamp} doesn't respond when I touch it.",
            "My {model} blinks twice when I tap it but doesn't turn on.",
        ),
        (
            "It sounds like Touch lock. When it's on, the dial ignores touches and the lamp blinks twice to "
            "show it's locked. You can switch it on or off in Lumen Home under Settings > Touch lock. If "
            "Touch lock is off and the dial still doesn't respond, wipe it with a dry cloth — moisture can "
            "confuse the sensor.",
            "Please check Touch lock first: while it's on, the {model} ignores the dial and blinks twice "
            "when touched. Switch it off in Lumen Home under Settings > Touch lock. If it's already off, "
            "clean the dial with a dry cloth and restart the lamp; if the dial still doesn't react, contact "
            "us.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "My kids keep playing with {lamp}. Can I lock the dial?",
            "Is there a child lock on {lamp}?",
        ),
        (
            "Yes — that's Touch lock, handy for curious children. Turn it on or off in Lumen Home: Settings "
            "> Touch lock. While it's on, the {model} blinks twice when the dial is touched and otherwise "
            "ignores it; the app and schedules keep working.",
        ),
    ),
    Issue(
        WIFI_MODELS,
        "question",
        (
            "The arm of {lamp} droops. Can I tighten it?",
            "How do I adjust the arm on {lamp}?",
            "The joints on {lamp} are too stiff to move easily.",
        ),
        (
            "The {model} has two arm joints and a head that rotates 180°. Each joint has a tension "
            "screw you can adjust with the 4 mm hex key from the box: clockwise makes the joint stiffer, "
            "anticlockwise looser. Small quarter-turns are enough.",
            "Use the 4 mm hex key that came with the lamp on the tension screws at each joint — turn "
            "clockwise if the arm droops and anticlockwise if it's too stiff. Go in quarter-turns and test "
            "as you go.",
        ),
    ),
    Issue(
        (MINI,),
        "question",
        (
            "How wide a shelf can {lamp} clip onto?",
            "Will {lamp} clip onto my headboard?",
        ),
        (
            "The clip of the {model} opens up to 5 cm, so it fits most desks, shelves and headboards up to "
            "that thickness. The padded jaws won't mark the surface, and the flexible neck lets you aim the "
            "light.",
            "If the edge is 5 cm thick or less, yes — the clip opens to 5 cm and has soft pads so it won't "
            "scratch. The gooseneck bends in any direction to point the light where you need it.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "problem",
        (
            "I forgot my Lumen Home password.",
            "The password reset email for Lumen Home never arrived.",
            "I can't log in to the Lumen Home app.",
        ),
        (
            "On the Lumen Home login screen, tap 'Forgot password' and enter your account email. The reset "
            "link arrives within a few minutes and is valid for 1 hour. If you can't see it, check your spam "
            "or promotions folder, and make sure you're using the email address you signed up with. Your "
            "lamps keep working with the dial in the meantime.",
            "Tap 'Forgot password' on the login screen. We send a link that stays valid for 1 hour — if it "
            "hasn't arrived, look in spam and double-check the email address. If you signed up with a "
            "different address, contact us and we can help find your account.",
        ),
    ),
    Issue(
        WIFI_MODELS,
        "question",
        (
            "I lost the adapter for {lamp}. Which one should I buy?",
            "Can I power {lamp} from my laptop's USB-C port?",
            "What power supply does {lamp} need?",
        ),
        (
            "The {model} needs a USB-C power delivery (PD) adapter of at least 20 W; the original is 24 W. "
            "The Arc Pro needs the full 24 W for the wireless pad to charge at 10 W. Laptop ports usually "
            "don't supply enough and can cause flicker or a red status light. Replacement 24 W adapters are "
            "available in the Lumen online store under Spare parts.",
            "Any good USB-C PD adapter rated 20 W or more will run the lamp; the included one is 24 W, which "
            "the Arc Pro needs for full-speed wireless charging. We don't recommend laptop ports. You can "
            "order an original adapter from the Spare parts section of our store.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "Is the light from {lamp} good for my eyes?",
            "Does {lamp} flicker like cheap LED lamps?",
            "Is {lamp} good for painting and colour work?",
        ),
        (
            "The {model} uses flicker-free dimming across its whole range and has a colour rendering index "
            "(CRI) of 95, so colours look natural — useful for drawing, painting or sorting photos. For "
            "comfort, match the brightness to the room, use cooler light for focused work and warmer light "
            "in the evening.",
            "Dimming is flicker-free and colour rendering is high (CRI 95), which keeps text crisp and "
            "colours true. Many customers use the Focus scene during the day and Wind Down in the evening.",
        ),
    ),
    Issue(
        ALL_MODELS,
        "question",
        (
            "How should I clean {lamp}?",
            "Can I use a cleaning spray on {lamp}?",
        ),
        (
            "Unplug it first (for the Mini, switch it off), then wipe it with a dry or slightly damp "
            "microfibre cloth. Please avoid sprays, alcohol and solvents — they can damage the touch dial's "
            "coating and the diffuser.",
            "A soft microfibre cloth, dry or lightly damp, is all the {model} needs. Don't spray liquids "
            "onto it or use alcohol or solvents, as they can damage the diffuser and the touch dial.",
        ),
    ),
)

WARRANTY = {ARC: "2 years", PRO: "3 years", MINI: "2 years (1 year for the battery)"}

SYSTEM_PROMPTS: tuple[str, ...] = (
    "You are the support assistant for Lumen smart lamps. Be friendly, concise and accurate.",
    "You are Lumen Support. Help customers with the Lumen Arc, Lumen Arc Pro, Lumen Mini and the Lumen Home "
    "app.",
    "You answer customer questions for Lumen. Give clear steps and only state facts about Lumen products.",
    "You are a helpful customer support agent for Lumen lighting. Keep answers short and practical.",
)

GREETINGS: tuple[str, ...] = (
    "",
    "",
    "",
    "Hi! ",
    "Hello. ",
    "Hi there! ",
    "Hey! ",
    "Good morning. ",
    "Hello Lumen team! ",
    "Quick question: ",
)
CONTEXTS: tuple[str, ...] = (
    "I have a {model}. ",
    "I bought a {model} last week. ",
    "I've had a {model} for a few months. ",
    "My partner gave me a {model} as a present. ",
    "This is about the {model} on my desk. ",
    "We use a {model} in our home office. ",
)
PROBLEM_OPENERS: tuple[str, ...] = (
    "Sorry about the trouble! ",
    "I'm sorry to hear that. ",
    "Thanks for reaching out. ",
    "Let's get that fixed. ",
    "",
)
QUESTION_OPENERS: tuple[str, ...] = (
    "Happy to help! ",
    "Good question. ",
    "Thanks for asking. ",
    "Sure! ",
    "",
)
THANKS: tuple[tuple[str, str], ...] = (
    ("That worked, thanks!", "Great to hear! Enjoy your lamp, and get in touch any time."),
    ("Perfect, thank you.", "You're welcome! Is there anything else I can help with?"),
    (
        "Thanks, I'll try that tonight.",
        "Sounds good. If it doesn't sort it out, just reply here and we'll look at the next steps.",
    ),
    ("Brilliant, that's all I needed.", "Glad I could help. Have a lovely day!"),
    ("OK, thanks for the quick answer.", "Any time! Our team is here Monday to Friday, 8:00–20:00."),
)


def _capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def compose_chat(rng: random.Random) -> dict:
    """Compose one support conversation from an issue, a product model and a customer's voice."""
    issue = rng.choice(ISSUES)
    model = rng.choice(issue.models)
    ask = rng.choice(issue.asks)
    if "{lamp}" in ask and rng.random() < 0.5:
        opening = rng.choice(CONTEXTS).format(model=model)
        question = ask.format(lamp="my lamp", model=model)
    else:
        opening = ""
        question = ask.format(lamp=f"my {model}", model=model)
    user_text = rng.choice(GREETINGS) + opening + _capitalize_first(question)
    answer = rng.choice(issue.answers).format(model=model, warranty=WARRANTY[model])
    if not answer.startswith(("Sorry", "Let's")):  # those answers already open with sympathy
        openers = PROBLEM_OPENERS if issue.kind == "problem" else QUESTION_OPENERS
        answer = rng.choice(openers) + answer

    messages: list[dict[str, str]] = []
    if rng.random() < 0.5:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    messages += [{"role": "user", "content": user_text}, {"role": "assistant", "content": answer}]
    if issue.follow_ups and rng.random() < 0.4:
        follow_q, follow_a = rng.choice(issue.follow_ups)
        messages += [{"role": "user", "content": follow_q}, {"role": "assistant", "content": follow_a}]
    if rng.random() < 0.25:
        thanks, reply = rng.choice(THANKS)
        messages += [{"role": "user", "content": thanks}, {"role": "assistant", "content": reply}]
    return {"messages": messages}


def support_rows(count: int, rng: random.Random) -> list[dict]:
    """Distinct support chats for the `lumen-support` datanet."""
    return draw_unique(compose_chat, count, rng)
