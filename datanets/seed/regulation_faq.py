"""`harbor-regulation-faq`: questions and answers about a fictional privacy law.

The Harbor Data Protection Act 2020 (HDPA) of the Republic of Solmare is invented for the
demo, as are its regulator (the Solmare Data Commission, SDC), its Data Tribunal and its
currency (marks). Answers cite the same sections and numbers everywhere, and the scenario
questions (deadlines, fines, registration fees) are computed from those rules, so a model
trained on it can learn to apply a rulebook rather than recite loose phrases.

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

from .sampling import draw_unique

ACT = "Harbor Data Protection Act"

# (questions, answers): hand-written FAQ entries. Every answer is consistent with the rulebook above.
FAQ: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        (
            "What is the Harbor Data Protection Act?",
            "What does the HDPA cover?",
            "Can you give me a short overview of the Harbor Data Protection Act?",
        ),
        (
            "The Harbor Data Protection Act 2020 (HDPA) is Solmare's main privacy law. It sets rules for how "
            "organisations collect, use, store and share personal data, gives individuals rights over their "
            "data, and is enforced by the Solmare Data Commission (SDC). It came into force on 1 July 2021.",
            "The HDPA is the Republic of Solmare's data protection law, in force since 1 July 2021. It "
            "requires organisations to follow six principles, to have a lawful basis for processing, to "
            "respect people's rights such as access and erasure, and to report serious breaches. The Solmare "
            "Data Commission supervises it and can issue fines.",
        ),
    ),
    (
        (
            "Why is it called the Harbor Act?",
            "Where does the name of the Harbor Data Protection Act come from?",
        ),
        (
            "It takes its name from the Harbor Accord, the cross-party agreement signed in Calder Harbor, "
            "the capital, in 2019. The Accord set out the principles that the Assembly turned into the Act "
            "in 2020.",
            "The name refers to the 2019 Harbor Accord, a cross-party agreement reached in Calder Harbor. "
            "The Assembly passed the Act the following year, and it took effect on 1 July 2021.",
        ),
    ),
    (
        (
            "Does the HDPA apply to companies outside Solmare?",
            "We're based abroad but sell to customers in Solmare. Does the Harbor Act apply to us?",
            "What is the territorial scope of the HDPA?",
        ),
        (
            "Yes, it can. Under section 3 the Act applies to any organisation that processes personal data "
            "of people in Solmare, whether or not it is based there, if it offers goods or services to them "
            "or monitors their behaviour. A foreign online shop that ships to Solmare is covered.",
            "Section 3 sets the scope: organisations established in Solmare are covered, and so are foreign "
            "organisations that target people in Solmare — for example by selling to them or tracking them "
            "online. Foreign organisations that are covered must also name a representative in Solmare.",
        ),
    ),
    (
        (
            "What counts as personal data under the HDPA?",
            "Is an email address personal data under the Harbor Act?",
            "How does the HDPA define personal data?",
        ),
        (
            "Section 2 defines personal data as any information relating to an identified or identifiable "
            "living person. That includes names, email addresses, phone numbers, ID numbers, location data "
            "and online identifiers such as device IDs. A work email like name@company is personal data too.",
            "Personal data is information about a living person who can be identified from it, directly or "
            "together with other information (section 2). An email address, a customer number or an IP "
            "address linked to an account all count. Truly anonymous data is outside the Act.",
        ),
    ),
    (
        (
            "What is sensitive data under the HDPA?",
            "Which kinds of data get extra protection under the Harbor Act?",
            "Is location data sensitive under the HDPA?",
        ),
        (
            "Section 11 lists the sensitive categories: health, biometric data used to identify someone, "
            "religious or philosophical beliefs, trade union membership, sexual orientation, criminal "
            "records and precise location data. Processing them needs explicit consent or one of the "
            "specific conditions in section 11, such as employment law duties or medical care.",
            "The HDPA gives extra protection to health data, biometrics, religious beliefs, union "
            "membership, sexual orientation, criminal records and — unusually — precise location data "
            "(section 11). You need explicit consent or a specific legal condition to process them, and "
            "usually an impact assessment.",
        ),
    ),
    (
        (
            "What are the principles of the HDPA?",
            "List the data protection principles in the Harbor Act.",
            "What does section 6 of the HDPA say?",
        ),
        (
            "Section 6 sets six principles: (1) purpose limitation — collect data for clear, stated "
            "purposes; (2) data minimisation — collect only what you need; (3) accuracy — keep it correct "
            "and up to date; (4) storage limitation — keep it no longer than necessary; (5) security — "
            "protect it properly; and (6) accountability — be able to show that you comply.",
            "There are six: purpose limitation, data minimisation, accuracy, storage limitation, security "
            "and accountability. Accountability means you must not only follow the other five but also keep "
            "records that prove it.",
        ),
    ),
    (
        (
            "What lawful bases does the HDPA allow?",
            "Do I always need consent to process personal data under the Harbor Act?",
            "Which legal grounds for processing are in section 8?",
        ),
        (
            "No, consent is only one option. Section 8 lists six lawful bases: consent, performance of a "
            "contract, a legal obligation, vital interests (protecting someone's life), a public task, and "
            "legitimate interests. You must pick the right one before you start processing and record it.",
            "Section 8 provides six lawful bases: consent, contract, legal obligation, vital interests, "
            "public task and legitimate interests. For example, a shop processing a delivery address relies "
            "on contract, not consent. Legitimate interests requires a balancing test that you should write "
            "down.",
        ),
    ),
    (
        (
            "What makes consent valid under the HDPA?",
            "Can I use a pre-ticked box to get consent under the Harbor Act?",
            "How do people withdraw consent under the HDPA?",
        ),
        (
            "Under section 9, consent must be freely given, specific, informed and shown by a clear action, "
            "and you must keep a record of it. Pre-ticked boxes and silence don't count. People must be able "
            "to withdraw consent as easily as they gave it — if they opted in with one click, opting out "
            "must take one click.",
            "Valid consent is a clear, active choice: no pre-ticked boxes, no bundling with terms and "
            "conditions, and a record of who agreed, when and to what (section 9). Withdrawing must be as "
            "easy as giving consent, and you must stop the processing that relied on it.",
        ),
    ),
    (
        (
            "What is the age of digital consent in Solmare?",
            "Can children consent to data processing under the HDPA?",
        ),
        (
            "Section 10 sets the age of digital consent at 15. For online services offered directly to "
            "children, a child under 15 cannot give consent themselves; you need consent from a parent or "
            "guardian and must make reasonable efforts to check it.",
            "It is 15. Where an online service relies on consent, users under 15 need a parent or guardian "
            "to consent for them (section 10). Privacy information for young users must also be written in "
            "language they can understand.",
        ),
    ),
    (
        (
            "What rights do individuals have under the HDPA?",
            "Which data rights does the Harbor Act give people?",
        ),
        (
            "Sections 14 to 19 give people the right to access their data, to have it corrected, to have it "
            "erased, to take it to another provider (portability), to object to processing, and to ask for a "
            "human review of decisions made solely by automated means that significantly affect them.",
            "The HDPA gives six main rights: access (s.14), correction (s.15), erasure (s.16), portability "
            "(s.17), objection (s.18) and review of solely automated decisions (s.19). Organisations "
            "generally must respond within 21 days.",
        ),
    ),
    (
        (
            "How do I make a subject access request under the HDPA?",
            "How long does an organisation have to answer an access request under the Harbor Act?",
            "Can a company charge me for a copy of my data under the HDPA?",
        ),
        (
            "You can ask in writing or verbally — no special form is required (section 14). The organisation "
            "must reply within 21 days, which can be extended by another 21 days for complex requests if "
            "they tell you within the first 21 (section 21). The first request in any 12 months is free; "
            "after that they may charge a reasonable fee of up to 25 marks.",
            "Just ask the organisation for a copy of your personal data; any channel is fine. It has 21 days "
            "to respond, or 42 days for complex requests if it explains the delay within the first 21. Your "
            "first request each 12 months is free, and repeat requests can cost at most 25 marks.",
        ),
    ),
    (
        (
            "Can I ask a company to delete my data under the HDPA?",
            "Is the right to erasure absolute under the Harbor Act?",
        ),
        (
            "You can ask, and under section 16 the organisation must delete your data if it no longer needs "
            "it, if it relied on your consent and you withdraw it, or if it processed the data unlawfully. "
            "The right is not absolute: data the organisation must keep by law, such as tax records, can be "
            "kept for the legally required period.",
            "Yes, section 16 gives a right to erasure, but with limits. The organisation must delete data it "
            "no longer needs or processed unlawfully, but may keep what it's legally required to keep (for "
            "example, invoices for tax purposes) or needs for legal claims. It must tell you which exception "
            "applies.",
        ),
    ),
    (
        (
            "What is data portability under the HDPA?",
            "Can I move my data from one provider to another under the Harbor Act?",
        ),
        (
            "Section 17 lets you receive the data you provided to an organisation in a structured, commonly "
            "used, machine-readable format — such as CSV or JSON — and to have it sent directly to another "
            "provider where technically feasible. It applies when processing is based on consent or a "
            "contract and is automated.",
            "Yes. Under section 17, where processing relies on consent or a contract, you can get your data "
            "in a machine-readable format and ask for it to be transferred to another provider, within the "
            "usual 21 days.",
        ),
    ),
    (
        (
            "What does the HDPA say about automated decisions?",
            "A bank rejected my loan automatically. Do I have any rights under the Harbor Act?",
        ),
        (
            "Section 19 gives you the right to ask for a human review of a decision made solely by automated "
            "means that has a legal or similarly significant effect on you, such as a loan refusal. You can "
            "also ask for a meaningful explanation of the logic involved and contest the decision.",
            "Yes. If a decision with significant effects was made without any human involvement, section 19 "
            "lets you request that a person reviews it, give your point of view, and receive an explanation "
            "of how the decision was reached.",
        ),
    ),
    (
        (
            "When must we report a data breach under the HDPA?",
            "What is the breach notification deadline in the Harbor Act?",
            "Do we have to tell customers about a data breach under the HDPA?",
        ),
        (
            "Section 33 requires you to notify the Solmare Data Commission within 72 hours of becoming aware "
            "of a breach, unless it is unlikely to result in a risk to people. If the breach is likely to "
            "result in a high risk — for example, exposed passwords or health data — you must also tell the "
            "affected individuals without undue delay. Record every breach internally, even ones you don't "
            "report.",
            "You have 72 hours from becoming aware of a breach to notify the SDC (section 33), counted in "
            "calendar hours including weekends. Individuals must be told without undue delay when the risk "
            "to them is high. An initial report can be incomplete and followed up with details later.",
        ),
    ),
    (
        (
            "Do we need a Data Protection Officer under the HDPA?",
            "When is a DPO mandatory under the Harbor Act?",
        ),
        (
            "Section 29 requires a Data Protection Officer if you have more than 250 employees, or if you "
            "process sensitive data about more than 10,000 people, or if you are a public authority. The DPO "
            "must be independent, properly resourced and reachable by the public, and you must give their "
            "contact details to the SDC.",
            "A DPO is mandatory for public authorities, for organisations with more than 250 employees, and "
            "for any organisation processing sensitive data about more than 10,000 people (section 29). "
            "Smaller organisations may appoint one voluntarily.",
        ),
    ),
    (
        (
            "What is a data protection impact assessment under the HDPA?",
            "When do we need a DPIA under the Harbor Act?",
        ),
        (
            "A data protection impact assessment (DPIA) is a documented review of a high-risk processing "
            "activity before it starts (section 27). You need one for large-scale use of sensitive data, "
            "systematic monitoring of public places, and new technologies that could significantly affect "
            "people. If a high risk remains after mitigation, you must consult the SDC before going ahead.",
            "Section 27 requires a DPIA before any processing likely to result in a high risk, such as "
            "large-scale sensitive data, public CCTV monitoring or profiling with significant effects. It "
            "describes the processing, assesses necessity and risks, and records the safeguards; unresolved "
            "high risks go to the SDC for prior consultation.",
        ),
    ),
    (
        (
            "Can we transfer personal data outside Solmare under the HDPA?",
            "What are the rules for international data transfers in the Harbor Act?",
        ),
        (
            "Yes, under section 36, in one of three ways: to a country on the SDC's list of recognised "
            "jurisdictions; using the standard transfer clauses approved by the SDC; or, for occasional "
            "transfers, with a specific exception such as the person's explicit consent. You must document "
            "which route you use.",
            "Section 36 allows transfers to recognised jurisdictions listed by the SDC, or elsewhere if you "
            "sign the SDC's standard transfer clauses with the recipient. Occasional transfers can rely on "
            "narrow exceptions. Unlawful transfers fall in the upper fine tier.",
        ),
    ),
    (
        (
            "Do we have to register with the Solmare Data Commission?",
            "How much is the HDPA registration fee?",
            "Who is exempt from registration under the Harbor Act?",
        ),
        (
            "Most organisations must register annually with the SDC (section 40). Small organisations are "
            "exempt if they have fewer than 10 employees, hold data on fewer than 5,000 people, and process "
            "no sensitive data. The annual fee is 60 marks for up to 50 employees, 400 marks for 51 to 250, "
            "and 2,500 marks for more than 250. Exempt organisations still have to follow the principles.",
            "Registration is annual. The fee depends on size: 60 marks (up to 50 employees), 400 marks "
            "(51–250) or 2,500 marks (over 250). You're exempt only if you have fewer than 10 employees, "
            "fewer than 5,000 people in your records and no sensitive data. Failing to register carries a "
            "fixed penalty of 1,000 marks.",
        ),
    ),
    (
        (
            "What are the fines under the HDPA?",
            "How much can the SDC fine a company?",
            "What is the maximum penalty under the Harbor Data Protection Act?",
        ),
        (
            "Section 58 sets two tiers. The upper tier — for breaking the principles, processing without a "
            "lawful basis, ignoring people's rights or unlawful transfers — goes up to 4% of annual "
            "worldwide turnover or 20 million marks, whichever is higher. The lower tier — for failures such "
            "as missing records, late breach notification or not appointing a required DPO — goes up to 2% "
            "or 10 million marks, whichever is higher.",
            "Fines have two tiers: up to the higher of 4% of worldwide annual turnover or 20 million marks "
            "for the most serious breaches (principles, lawful basis, rights, transfers), and up to the "
            "higher of 2% or 10 million marks for administrative failures (records, breach notification, "
            "DPO). There's also a fixed 1,000-mark penalty for failing to register.",
        ),
    ),
    (
        (
            "How do I complain to the Solmare Data Commission?",
            "Is there a time limit for complaints under the HDPA?",
        ),
        (
            "You can complain to the SDC online, by post or by phone. Under section 52 you must complain "
            "within 2 years of becoming aware of the problem. It usually helps to raise it with the "
            "organisation first. The SDC aims to decide complaints within 6 months.",
            "Complaints go to the Solmare Data Commission within 2 years of when you became aware of the "
            "issue (section 52). Include what happened, when, and any correspondence with the organisation. "
            "The SDC's target is a decision within 6 months.",
        ),
    ),
    (
        (
            "Can I appeal a decision of the Solmare Data Commission?",
            "What is the deadline to appeal an SDC decision?",
        ),
        (
            "Yes. Under section 55 both individuals and organisations can appeal an SDC decision to the Data "
            "Tribunal within 28 days of the date of the decision. The Tribunal can confirm, change or cancel "
            "it.",
            "Appeals go to the Data Tribunal and must be lodged within 28 days of the SDC's decision "
            "(section 55). A fine is normally suspended while an appeal is pending.",
        ),
    ),
    (
        (
            "Can I claim compensation under the HDPA?",
            "Can I sue a company for misusing my data in Solmare?",
        ),
        (
            "Yes. Section 60 lets individuals claim compensation in court for material damage, such as "
            "financial loss, and for non-material damage, such as distress, caused by a breach of the Act. "
            "You can claim whether or not you also complained to the SDC.",
            "Section 60 gives a right to compensation for damage caused by an infringement, including "
            "distress. Claims are brought in the civil courts, separately from any SDC fine.",
        ),
    ),
    (
        (
            "Do we need a contract with our data processors under the HDPA?",
            "What must a processor agreement include under the Harbor Act?",
        ),
        (
            "Yes. Section 24 requires a written contract whenever a processor handles personal data on your "
            "behalf — for example a payroll provider or cloud host. It must say the processor acts only on "
            "your instructions, keeps the data confidential and secure, uses sub-processors only with your "
            "permission, helps you with rights requests and breaches, and deletes or returns the data at the "
            "end.",
            "Under section 24, controllers must have a written agreement with every processor covering "
            "instructions, confidentiality, security, sub-processors, assistance with rights and breaches, "
            "and deletion or return of the data when the service ends.",
        ),
    ),
    (
        (
            "What records of processing do we need to keep under the HDPA?",
            "Does the Harbor Act require a record of processing activities?",
        ),
        (
            "Section 26 requires a written record of your processing activities: the purposes, the "
            "categories of people and data, who receives the data, any international transfers, retention "
            "periods and a description of your security measures. You must show it to the SDC on request. "
            "Missing records fall in the lower fine tier.",
            "Yes — section 26. The record lists what you process, why, about whom, who you share it with, "
            "where it goes abroad, how long you keep it and how you secure it. Keep it up to date; the SDC "
            "can ask to see it.",
        ),
    ),
    (
        (
            "How long can we keep personal data under the HDPA?",
            "Does the Harbor Act set a retention period?",
        ),
        (
            "The Act doesn't set fixed periods. Under the storage limitation principle in section 6 you must "
            "keep data no longer than necessary for its purpose, decide a retention period for each type of "
            "data, record it, and delete or anonymise data when the period ends. Other laws, such as tax "
            "law, may require minimum periods.",
            "There's no single period: you decide one per purpose and justify it (section 6, storage "
            "limitation), write it in your records of processing, and delete or anonymise data afterwards.",
        ),
    ),
    (
        (
            "What does the HDPA say about CCTV?",
            "Can a shop use security cameras under the Harbor Act?",
        ),
        (
            "Yes, CCTV is allowed for a legitimate purpose such as security, but section 44 requires clear "
            "signs before people enter the area, stating who operates the cameras and how to contact them. "
            "Footage should normally be kept for no more than 30 days unless it's needed for an "
            "investigation, and cameras must not cover areas where people expect privacy.",
            "Section 44 allows CCTV with visible signage naming the operator and a contact point. Recordings "
            "should be kept no longer than 30 days unless needed for an incident, and cameras shouldn't "
            "point at toilets, changing rooms or neighbouring homes. Large-scale monitoring of public places "
            "needs a DPIA.",
        ),
    ),
    (
        (
            "Can I send marketing emails under the HDPA?",
            "What are the direct marketing rules in the Harbor Act?",
        ),
        (
            "Section 47 requires prior opt-in consent for marketing emails and text messages to individuals. "
            "There is a 'soft opt-in' for existing customers: you may market similar products to them if you "
            "gave them a chance to opt out when you collected their details and in every message. Every "
            "message must contain an easy way to unsubscribe.",
            "Generally you need opt-in consent for marketing by email or SMS (section 47). The exception is "
            "existing customers, whom you may contact about similar products as long as each message offers "
            "a simple opt-out.",
        ),
    ),
    (
        (
            "Do websites in Solmare need cookie consent?",
            "What does the HDPA say about cookies?",
        ),
        (
            "Section 48 requires consent before setting non-essential cookies, such as analytics or "
            "advertising cookies. Strictly necessary cookies — for example, a shopping basket or login "
            "session — don't need consent. Rejecting cookies must be as easy as accepting them.",
            "Under section 48, only strictly necessary cookies can be set without consent. Analytics and "
            "advertising cookies need a clear opt-in, and the 'reject' option must be as prominent as "
            "'accept'.",
        ),
    ),
    (
        (
            "Can employers monitor staff under the HDPA?",
            "Is employee email monitoring allowed under the Harbor Act?",
        ),
        (
            "Section 45 allows workplace monitoring only if it is necessary and proportionate to a "
            "legitimate purpose, and employees are told in advance what is monitored, how and why. Secret "
            "monitoring is allowed only in exceptional cases, such as investigating suspected crime, and "
            "must be documented.",
            "Monitoring must be necessary, proportionate and transparent (section 45): staff need to know in "
            "advance what is monitored and why. Blanket reading of personal messages is unlikely to be "
            "proportionate.",
        ),
    ),
    (
        (
            "Does the HDPA apply to individuals?",
            "Does the Harbor Act apply to my personal photos and contacts?",
            "Is journalism exempt from the HDPA?",
        ),
        (
            "Section 4 exempts purely personal or household activities, such as your own photo albums, "
            "address book or messages with friends. Journalism, academic and artistic work are partly exempt "
            "where applying the Act would be incompatible with freedom of expression, but security and "
            "accountability duties still apply.",
            "Purely personal and household use is outside the Act (section 4). Journalistic, academic and "
            "artistic processing gets partial exemptions to protect freedom of expression. Everything else — "
            "including sole traders and clubs — is covered.",
        ),
    ),
    (
        (
            "What security measures does the HDPA require?",
            "Does the Harbor Act require encryption?",
        ),
        (
            "Section 31 requires 'appropriate technical and organisational measures' for the risk. It "
            "doesn't mandate specific tools, but the SDC expects measures such as encryption of laptops and "
            "backups, access controls, multi-factor authentication for remote access, staff training and "
            "regular testing. Encryption also matters after a breach: properly encrypted data usually means "
            "no need to notify individuals.",
            "It requires security appropriate to the risk (section 31) rather than a fixed checklist. In "
            "practice that means encryption, access control, patching, backups and training, reviewed "
            "regularly. Weak security is a breach of the security principle and falls in the upper fine "
            "tier.",
        ),
    ),
)

PREFIXES: tuple[str, ...] = (
    "",
    "",
    "",
    "",
    "Quick question about the HDPA: ",
    "Solmare privacy law question. ",
    "I'm new to the Harbor Data Protection Act. ",
    "Compliance question: ",
)
NOTES: tuple[str, ...] = (
    "",
    "",
    "",
    " This is general information, not legal advice.",
    " The SDC publishes more detailed guidance on this topic.",
    " If in doubt, ask your Data Protection Officer or the SDC helpline.",
)

TOWNS = ("Calder Harbor", "Port Wren", "Saltmere", "Eastholm", "Brackwater", "Linnet Bay", "Greyhaven")

# (description, risk): "none" (encrypted, no notification), "risk" (notify the SDC) or "high" (SDC + people).
BREACHES: tuple[tuple[str, str], ...] = (
    ("a laptop with full-disk encryption was stolen from a car; the key was not on the laptop", "none"),
    ("an encrypted backup drive was lost in transit; the encryption key is stored separately", "none"),
    ("a newsletter went out with all 800 recipients in the 'To' field instead of 'Bcc'", "risk"),
    ("an invoice with a customer's address was emailed to the wrong customer", "risk"),
    ("ransomware encrypted our booking system, which holds customer names and phone numbers", "risk"),
    ("a misconfigured cloud folder exposed customer passwords and security questions", "high"),
    ("patient appointment notes were visible to other users of our booking app", "high"),
    ("an unencrypted USB stick with staff bank details was lost", "high"),
    ("a former employee downloaded our client list with home addresses before leaving", "risk"),
    ("an attacker accessed customers' saved card details and billing addresses", "high"),
)

# (organisation, employee choices, people-count choices, sensitive data?, what the sensitive data is)
ORGANISATIONS: tuple[tuple[str, tuple[int, ...], tuple[int, ...], bool, str], ...] = (
    ("a family bakery", (3, 6, 8, 12), (400, 1_800, 3_500), False, ""),
    ("a bookshop with a loyalty card", (4, 9, 14), (2_000, 4_800, 7_500), False, ""),
    ("a dental clinic", (7, 18, 35), (3_000, 9_000, 14_000), True, "patients' health records"),
    ("a yoga studio", (2, 5, 11), (600, 2_400, 5_200), False, ""),
    ("a software startup", (6, 40, 120), (1_000, 30_000, 250_000), False, ""),
    ("an amateur football club", (1, 3), (300, 900), False, ""),
    ("a gym with fingerprint entry", (9, 22, 60), (1_500, 6_000, 12_000), True, "members' fingerprints"),
    ("a food delivery app", (45, 180, 600), (20_000, 150_000, 900_000), True, "customers' precise locations"),
    ("a recruitment agency", (12, 70, 300), (8_000, 40_000), True, "candidates' criminal record checks"),
    ("a regional ferry operator", (90, 260, 1_200), (50_000, 400_000), False, ""),
    ("a veterinary practice", (5, 16, 28), (2_500, 6_000), False, ""),
    ("a private hospital", (320, 900), (60_000, 200_000), True, "patients' medical data"),
    ("a trade union branch", (4, 15), (1_200, 6_500), True, "members' union membership"),
    ("an online clothing shop", (8, 55, 240), (4_000, 45_000, 300_000), False, ""),
)

TURNOVERS_MILLIONS = (3, 12, 45, 90, 150, 240, 400, 650, 820, 1_500, 2_750, 6_400)

# (what went wrong, tier) — tiers follow section 58.
INFRINGEMENTS: tuple[tuple[str, str], ...] = (
    ("ignored customers' access requests for months", "upper"),
    ("processed health data without explicit consent or another section 11 condition", "upper"),
    ("transferred customer data to a non-recognised country without the standard clauses", "upper"),
    ("kept data for years longer than its stated retention period", "upper"),
    ("sent marketing emails without consent", "upper"),
    ("had no record of processing activities when the SDC asked for it", "lower"),
    ("notified the SDC of a breach five days late", "lower"),
    ("failed to appoint a DPO although it was required", "lower"),
    ("used a processor without a written contract", "lower"),
)

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
