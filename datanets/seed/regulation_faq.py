"""`harbor-regulation-faq`: questions and answers about a fictional privacy law.

The Harbor Data Protection Act 2020 (HDPA) of the Republic of Solmare is invented for the
demo, as are its regulator (the Solmare Data Commission, SDC), its Data Tribunal and its
currency (marks). Answers cite the same sections and numbers everywhere, and the scenario
questions (deadlines, fines, registration fees) are computed from those rules, so a model
trained on it can learn to apply a rulebook rather than recite loose phrases. The FAQ
entries and the scenarios' building blocks are in content/regulation_faq.json; the
scenario answers are computed here.

Rulebook used throughout:
- s.3 scope: anyone processing personal data of people in Solmare, including foreign firms targeting them.
- s.4 exemptions: purely personal/household use; journalism is partly exempt.
- s.6 six principles; s.8 six lawful bases; s.9 consent; s.10 digital consent age 15.
- s.11 sensitive data; s.14–19 rights; s.21 respond within 21 days (+21 for complex requests).
- s.27 impact assessments; s.29 DPO (over 250 staff, or sensitive data about over 10,000 people).
- s.33 breaches: SDC within 72 hours; individuals without undue delay if high risk.
- s.36 transfers; s.40 registration (exempt: under 10 staff, under 5,000 people, no sensitive data;
  fees 60 / 400 / 2,500 marks for up to 50 / 51–250 / over 250 staff).
- s.52 complaints within 2 years; s.55 appeals within 28 days; s.58 fines: upper tier 4% of
  turnover or 20 million marks, lower tier 2% or 10 million marks, whichever is higher.
"""

from __future__ import annotations

import datetime as dt
import random

from .content_files import as_tuples, read_content
from .sampling import draw_unique

ACT = "Harbor Data Protection Act"


def _organisation(entry: dict) -> tuple[str, tuple[int, ...], tuple[int, ...], bool, str]:
    sensitive_data = entry.get("sensitive_data", "")
    return (entry["name"], entry["staff"], entry["people"], bool(sensitive_data), sensitive_data)


_CONTENT = read_content("regulation_faq")

# Hand-written FAQ entries (questions, answers), every answer consistent with the rulebook above.
FAQ: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = as_tuples(_CONTENT["faq"], "questions", "answers")
PREFIXES: tuple[str, ...] = _CONTENT["prefixes"]
NOTES: tuple[str, ...] = _CONTENT["notes"]
TOWNS: tuple[str, ...] = _CONTENT["towns"]
# (description, risk): "none" (encrypted, no notification), "risk" (notify the SDC) or "high" (SDC + people).
BREACHES: tuple[tuple[str, str], ...] = as_tuples(_CONTENT["breaches"], "what", "risk")
# (organisation, employee choices, people-count choices, sensitive data?, what the sensitive data is)
ORGANISATIONS: tuple[tuple[str, tuple[int, ...], tuple[int, ...], bool, str], ...] = tuple(
    _organisation(entry) for entry in _CONTENT["organisations"]
)
# (what went wrong, tier) — tiers follow section 58.
INFRINGEMENTS: tuple[tuple[str, str], ...] = as_tuples(_CONTENT["infringements"], "what", "tier")

TURNOVERS_MILLIONS = (3, 12, 45, 90, 150, 240, 400, 650, 820, 1_500, 2_750, 6_400)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _day(date: dt.date) -> str:
    return f"{WEEKDAYS[date.weekday()]} {date.day} {date:%B %Y}"


def _moment(moment: dt.datetime) -> str:
    return f"{moment:%H:%M} on {_day(moment.date())}"


def _marks(amount: int) -> str:
    if amount >= 1_000_000_000 and amount % 100_000_000 == 0:
        text = f"{amount / 1_000_000_000:,.1f}".rstrip("0").rstrip(".")
        return f"{text} billion marks"
    if amount >= 1_000_000 and amount % 100_000 == 0:
        millions = amount / 1_000_000
        text = f"{millions:,.1f}".rstrip("0").rstrip(".")
        return f"{text} million marks"
    return f"{amount:,} marks"


def _random_day(rng: random.Random) -> dt.date:
    return dt.date(2022, 1, 1) + dt.timedelta(days=rng.randrange(3 * 365))


def compose_faq(rng: random.Random) -> dict:
    """A hand-written FAQ entry with varied phrasing."""
    questions, answers = rng.choice(FAQ)
    prompt = rng.choice(PREFIXES) + rng.choice(questions)
    return {"prompt": prompt, "completion": rng.choice(answers) + rng.choice(NOTES)}


def compose_breach_deadline(rng: random.Random) -> dict:
    """A breach scenario: is notification needed, to whom, and the exact 72-hour deadline."""
    what, risk = rng.choice(BREACHES)
    at = dt.time(rng.choice((7, 9, 11, 14, 16, 18, 22)), rng.choice((0, 30)))
    found = dt.datetime.combine(_random_day(rng), at)
    deadline = found + dt.timedelta(hours=72)
    prompt = rng.choice(
        (
            f"We found out at {_moment(found)} that {what}. Do we have to report it, and by when?",
            f"Breach question: {what}. We became aware at {_moment(found)}. What does the HDPA require?",
            f"At {_moment(found)} we discovered that {what}. What's our deadline under section 33?",
        )
    )
    if risk == "none":
        completion = (
            "Probably no notification is needed. Section 33 requires notifying the SDC only when a breach is "
            "likely to result in a risk to people, and properly encrypted data with a safe key is "
            "unintelligible to whoever has it. You must still record the breach and your reasoning in your "
            "internal breach log. If it later turns out the key was exposed too, the 72-hour clock starts "
            "when you learn that."
        )
    else:
        completion = (
            "Yes. Under section 33 you must notify the Solmare Data Commission within 72 hours of becoming "
            f"aware, so the deadline is {_moment(deadline)}. Weekends count towards the 72 hours, and if you "
            "don't have all the facts yet you can send an initial report and add details later."
        )
        if risk == "high":
            completion += (
                " Because this is likely to result in a high risk to the people affected, you must also "
                "inform them without undue delay, explaining what happened, the likely consequences and what "
                "they can do to protect themselves."
            )
        else:
            completion += (
                " Telling the individuals is required only if the risk to them is high; assess that now and "
                "record your decision."
            )
    return {"prompt": prompt, "completion": completion}


def compose_access_deadline(rng: random.Random) -> dict:
    """A subject access request: the 21-day deadline and the optional 21-day extension."""
    received = _random_day(rng)
    due = received + dt.timedelta(days=21)
    extended = received + dt.timedelta(days=42)
    who = rng.choice(("a customer", "a former employee", "a patient", "a club member", "a job applicant"))
    prompt = rng.choice(
        (
            f"We received a subject access request from {who} on {_day(received)}. When must we reply?",
            f"{who.capitalize()} asked for a copy of their data on {_day(received)}. What's our deadline "
            "under the HDPA?",
            f"Access request received {_day(received)} from {who}. How long do we have, and can "
            "we extend it?",
        )
    )
    completion = (
        f"Under section 21 you must respond within 21 days, so by {_day(due)}. If the request is complex or "
        f"one of several from the same person, you can extend by a further 21 days — to {_day(extended)} — "
        "but only if you tell them about the extension and the reason before the first deadline. The first "
        "request in any 12 months is free."
    )
    return {"prompt": prompt, "completion": completion}


def compose_registration(rng: random.Random) -> dict:
    """An organisation profile: registration exemption or fee tier, and whether a DPO is required."""
    org, staff_choices, people_choices, sensitive, sensitive_what = rng.choice(ORGANISATIONS)
    staff, people, town = rng.choice(staff_choices), rng.choice(people_choices), rng.choice(TOWNS)
    data_note = f" We hold {sensitive_what}." if sensitive else ""
    prompt = rng.choice(
        (
            f"We are {org} in {town} with {staff} employees and records on about {people:,} "
            f"people.{data_note} Do we need to register with the SDC, and do we need a DPO?",
            f"I run {org} ({staff} staff, about {people:,} people in our records).{data_note} What are our "
            "registration and DPO obligations under the Harbor Act?",
        )
    )
    reasons = []
    if staff >= 10:
        reasons.append(f"you have {staff} employees (the limit is fewer than 10)")
    if people >= 5_000:
        reasons.append(f"you hold data on about {people:,} people (the limit is fewer than 5,000)")
    if sensitive:
        reasons.append(f"you process sensitive data ({sensitive_what})")
    if not reasons:
        parts = [
            "You're exempt from registration under section 40: fewer than 10 employees, fewer than 5,000 "
            "people in your records and no sensitive data. The principles and individuals' rights still "
            "apply to you."
        ]
    else:
        fee = 60 if staff <= 50 else 400 if staff <= 250 else 2_500
        band = "up to 50" if staff <= 50 else "51–250" if staff <= 250 else "over 250"
        parts = [
            f"Yes, you need to register annually with the SDC (section 40), because {' and '.join(reasons)}. "
            f"With {staff} employees you're in the '{band} employees' band, so the fee is {_marks(fee)} a "
            "year."
        ]
    if staff > 250:
        parts.append(
            "You also need a Data Protection Officer (section 29), because you have more than 250 employees."
        )
    elif sensitive and people > 10_000:
        parts.append(
            "You also need a Data Protection Officer (section 29), because you process sensitive data about "
            "more than 10,000 people."
        )
    else:
        parts.append(
            "A Data Protection Officer isn't mandatory for you under section 29 (you have 250 or fewer "
            "employees and don't process sensitive data about more than 10,000 people), though you may "
            "appoint one voluntarily."
        )
    if sensitive:
        parts.append("Because you process sensitive data, check whether you need a DPIA under section 27.")
    return {"prompt": prompt, "completion": " ".join(parts)}


def compose_fine(rng: random.Random) -> dict:
    """A fine ceiling computed from turnover and the section 58 tier of the infringement."""
    what, tier = rng.choice(INFRINGEMENTS)
    turnover = rng.choice(TURNOVERS_MILLIONS) * 1_000_000
    rate, floor = (4, 20_000_000) if tier == "upper" else (2, 10_000_000)
    share = turnover * rate // 100
    ceiling = max(share, floor)
    prompt = rng.choice(
        (
            f"A company with annual turnover of {_marks(turnover)} {what}. What's the maximum fine under the "
            "HDPA?",
            f"Our turnover is {_marks(turnover)} a year. If we {what.replace('its ', 'our ')}, "
            "how much could the SDC fine us at most?",
        )
    )
    bigger = "the percentage" if share > floor else "the fixed amount"
    completion = (
        f"That falls in the {tier} tier of section 58, where the maximum is {rate}% of annual worldwide "
        f"turnover or {_marks(floor)}, whichever is higher. "
        f"{rate}% of {_marks(turnover)} is {_marks(share)}, "
        f"so {bigger} applies and the ceiling is {_marks(ceiling)}. Actual fines are usually well below the "
        "maximum: the SDC considers the seriousness, duration, number of people affected, cooperation and "
        "steps taken to fix it."
    )
    return {"prompt": prompt, "completion": completion}


def compose_child_consent(rng: random.Random) -> dict:
    """Whether a child of a given age can consent to an online service (the age is 15)."""
    age = rng.randint(10, 17)
    child = rng.choice(("My daughter", "My son", "A user of our app", "My nephew", "A student at our school"))
    service = rng.choice(
        ("a photo-sharing app", "an online game", "a music streaming service", "a study app")
    )
    prompt = (
        f"{child} is {age} and wants to sign up for {service} that relies on consent. "
        "Can they agree themselves?"
    )
    if age >= 15:
        completion = (
            f"Yes. The age of digital consent in Solmare is 15 (section 10), so someone aged {age} can give "
            "valid consent themselves, provided it's freely given, specific and informed, and the privacy "
            "information is written so they can understand it."
        )
    else:
        completion = (
            f"No. Under section 10 the age of digital consent is 15, so at {age} they need consent from a "
            "parent or guardian, and the service must make reasonable efforts to verify it. Once they turn "
            "15 they can give or withdraw consent themselves."
        )
    return {"prompt": prompt, "completion": completion}


def compose_appeal_deadline(rng: random.Random) -> dict:
    """The 28-day window to appeal an SDC decision to the Data Tribunal."""
    decided = _random_day(rng)
    last = decided + dt.timedelta(days=28)
    party = rng.choice(("our company", "our charity", "me", "our school", "our clinic"))
    prompt = rng.choice(
        (
            f"The SDC issued a decision against {party} dated {_day(decided)}. What's the last "
            "day to appeal?",
            f"An SDC decision dated {_day(decided)} was sent to {party}. How long is there to appeal?",
        )
    )
    completion = (
        "Appeals go to the Data Tribunal within 28 days of the date of the decision (section 55), so the "
        f"last day is {_day(last)}. The Tribunal can confirm, change or cancel the decision, and a fine is "
        "normally suspended while the appeal is pending."
    )
    return {"prompt": prompt, "completion": completion}


COMPOSERS = (
    (compose_faq, 50),
    (compose_breach_deadline, 14),
    (compose_access_deadline, 9),
    (compose_registration, 12),
    (compose_fine, 9),
    (compose_child_consent, 3),
    (compose_appeal_deadline, 3),
)


def compose_row(rng: random.Random) -> dict:
    """Pick a kind of question (mostly plain FAQ, some computed scenarios) and compose it."""
    composer = rng.choices([c for c, _ in COMPOSERS], weights=[w for _, w in COMPOSERS])[0]
    return composer(rng)


def regulation_rows(count: int, rng: random.Random) -> list[dict]:
    """Distinct prompt/completion rows for the `harbor-regulation-faq` datanet."""
    return draw_unique(compose_row, count, rng)
