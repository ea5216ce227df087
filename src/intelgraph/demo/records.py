"""Synthetic people, organisations, accounts, devices and locations whose truth is known.

Two users: ``intelgraph demo seed`` (a demo tenant of a few thousand entities and several
thousand relationships, :func:`demo_ingest_lines`) and the entity-resolution tests and
benchmarks (:func:`generate_people`, :func:`generate_organizations`), which need several
records of one real-world person or organisation, corrupted in controlled ways, with the
cluster each record belongs to. :func:`bulk_entity_lines` and :func:`random_graph_edges`
are cheap generators for ingest and analytics benchmarks.

Everything is deterministic for a seed: each generator owns a ``random.Random`` seeded from
its arguments and never touches the global one. Names, places and company parts are
embedded below; e-mail addresses and websites use reserved domains (``example.com``,
``.example``, ``.test``) so nothing points at a real mailbox or site.
"""

from __future__ import annotations

import random
import sys
import unicodedata
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import accumulate, chain, repeat
from operator import rshift, sub
from typing import Any, Literal

__all__ = [
    "CORRUPTION_KINDS",
    "ENTITY_TYPES",
    "RELATIONSHIP_TYPES",
    "SOURCES",
    "CorruptionProfile",
    "SyntheticRecord",
    "bulk_entity_lines",
    "demo_ingest_lines",
    "generate_organizations",
    "generate_people",
    "random_graph_edges",
]

ENTITY_TYPES: frozenset[str] = frozenset(
    {
        "PERSON", "ORGANIZATION", "LOCATION", "DEVICE", "EMAIL", "PHONE", "IP_ADDRESS",
        "DOMAIN", "URL", "FILE", "DOCUMENT", "ACCOUNT", "TRANSACTION", "EVENT", "OTHER",
    }
)  # fmt: skip
RELATIONSHIP_TYPES: frozenset[str] = frozenset(
    {
        "CONNECTED_TO", "OWNS", "WORKS_FOR", "LOCATED_AT", "MENTIONS", "COMMUNICATES_WITH",
        "TRANSACTED_WITH", "ACCESSED", "CREATED", "MODIFIED", "RELATED_TO", "MEMBER_OF",
        "MANAGES", "REPORTS_TO", "SUBSIDIARY_OF", "PARTNER_OF", "COMPETITOR_OF", "SIMILAR_TO",
    }
)  # fmt: skip
SOURCES: tuple[str, ...] = ("crm", "kyc", "osint", "registry", "telecom", "bank", "hr")

# Where a record of each kind first comes from, and where its duplicates come from.
_PERSON_SOURCES = ("crm", "kyc")
_PERSON_DUPLICATE_SOURCES = ("osint", "telecom", "hr", "bank", "crm", "kyc")
_ORG_SOURCES = ("registry",)
_ORG_DUPLICATE_SOURCES = ("crm", "osint", "kyc", "bank")
_SOURCE_CONFIDENCE = {
    "registry": 0.95, "kyc": 0.9, "bank": 0.9, "hr": 0.85, "telecom": 0.85, "crm": 0.8,
    "osint": 0.6,
}  # fmt: skip
_PURPOSES = ("investigation",)

# ---------------------------------------------------------------------------------------
# Embedded reference data
# ---------------------------------------------------------------------------------------

# Formal given name -> the short forms another source may record instead.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy", "Liam"),
    "Robert": ("Bob", "Rob", "Bobby", "Robbie"),
    "Elizabeth": ("Liz", "Beth", "Betty", "Eliza", "Lizzie"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Richard": ("Rick", "Dick", "Rich", "Richie"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Cat", "Kate"),
    "Michael": ("Mike", "Mick", "Mikey"),
    "Thomas": ("Tom", "Tommy"),
    "Christopher": ("Chris", "Kit"),
    "Jennifer": ("Jen", "Jenny"),
    "Alexander": ("Alex", "Sandy", "Xander"),
    "Alexandra": ("Alex", "Sasha", "Lexi"),
    "Anthony": ("Tony",),
    "Joseph": ("Joe", "Joey"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Andrew": ("Andy", "Drew"),
    "Edward": ("Ed", "Ted", "Eddie", "Ned"),
    "Charles": ("Charlie", "Chuck", "Chas"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Susan": ("Sue", "Suzy"),
    "Deborah": ("Debbie", "Deb"),
    "Rebecca": ("Becky", "Becca"),
    "Samantha": ("Sam", "Sammy"),
    "Samuel": ("Sam", "Sammy"),
    "Benjamin": ("Ben", "Benny"),
    "Nicholas": ("Nick", "Nicky"),
    "Jonathan": ("Jon", "Jonny"),
    "Timothy": ("Tim", "Timmy"),
    "Stephen": ("Steve", "Stevie"),
    "Steven": ("Steve",),
    "Gregory": ("Greg",),
    "Jeffrey": ("Jeff",),
    "Kenneth": ("Ken", "Kenny"),
    "Ronald": ("Ron", "Ronnie"),
    "Donald": ("Don", "Donny"),
    "Lawrence": ("Larry", "Laurie"),
    "Raymond": ("Ray",),
    "Frederick": ("Fred", "Freddie"),
    "Francis": ("Frank", "Fran"),
    "Henry": ("Harry", "Hank"),
    "Victoria": ("Vicky", "Tori"),
    "Abigail": ("Abby", "Gail"),
    "Christine": ("Chris", "Chrissy", "Tina"),
    "Christina": ("Tina", "Chris"),
    "Dorothy": ("Dot", "Dottie"),
    "Eleanor": ("Ellie", "Nell"),
    "Jacqueline": ("Jackie",),
    "Josephine": ("Jo", "Josie"),
    "Judith": ("Judy",),
    "Kimberly": ("Kim",),
    "Madeleine": ("Maddie",),
    "Natalie": ("Nat",),
    "Pamela": ("Pam",),
    "Penelope": ("Penny",),
    "Theresa": ("Tess", "Terri"),
    "Valerie": ("Val",),
    "Zachary": ("Zach",),
    "Nathaniel": ("Nate", "Nat"),
    "Peter": ("Pete",),
    "Philip": ("Phil",),
    "Gerald": ("Gerry",),
    "Douglas": ("Doug",),
    "Leonard": ("Len", "Lenny", "Leo"),
    "Albert": ("Al", "Bert"),
    "Arthur": ("Art", "Artie"),
    "Walter": ("Walt", "Wally"),
    "Harold": ("Harry", "Hal"),
    "Vincent": ("Vince", "Vinnie"),
    "Gabriel": ("Gabe",),
    "Isabella": ("Bella", "Izzy"),
    "Olivia": ("Liv", "Livvy"),
    "Sophia": ("Sophie",),
    "Emily": ("Em", "Emmy"),
    "Jessica": ("Jess", "Jessie"),
    "Amanda": ("Mandy",),
    "Cynthia": ("Cindy",),
    "Sandra": ("Sandy",),
    "Barbara": ("Barb", "Babs"),
    "Virginia": ("Ginny",),
    "Frances": ("Fran", "Frankie"),
    "Francisco": ("Paco", "Pancho"),
    "José": ("Pepe",),
    "Guillermo": ("Memo", "Guille"),
    "Alejandro": ("Alex", "Ale"),
    "Dolores": ("Lola",),
    "Manuel": ("Manolo", "Manu"),
    "Ignacio": ("Nacho",),
    "Enrique": ("Quique",),
    "Johannes": ("Hans", "Jan"),
    "Friedrich": ("Fritz",),
    "Katharina": ("Kathi", "Katja"),
    "Maximilian": ("Max",),
    "Ferdinand": ("Ferdi",),
    "Giuseppe": ("Beppe", "Peppe"),
    "Giovanni": ("Gianni",),
    "Antonio": ("Toni", "Tonio"),
    "Aleksandr": ("Sasha",),
    "Dmitri": ("Dima",),
    "Mikhail": ("Misha",),
    "Ekaterina": ("Katya",),
    "Tatiana": ("Tanya",),
    "Anastasia": ("Nastya", "Stacy"),
    "Nikolai": ("Kolya",),
    "Vladimir": ("Volodya", "Vova"),
    "Mohammed": ("Mo", "Moe"),
    "Abdullah": ("Abdul",),
    "Rajesh": ("Raj",),
    "Venkatesh": ("Venky",),
}

_OTHER_GIVEN_NAMES = (
    "Ada", "Aisha", "Amara", "Anil", "Arjun", "Wei", "Mei", "Hiroshi", "Yuki", "Sakura",
    "Kenji", "Haruto", "Fatima", "Omar", "Hassan", "Layla", "Noor", "Priya", "Rahul",
    "Sanjay", "Deepa", "Ananya", "Kwame", "Ama", "Chidi", "Ngozi", "Oluwaseun", "Zanele",
    "Thabo", "Lars", "Ingrid", "Sven", "Astrid", "Björn", "Freya", "Aoife", "Siobhan",
    "Ciarán", "Niamh", "Seán", "Pádraig", "Emma", "Chloe", "Grace", "Hannah", "Lucy",
    "Ruby", "Mia", "Zoe", "Ella", "Amelia", "Charlotte", "Harriet", "Imogen", "Jasmine",
    "Leah", "Megan", "Nina", "Paula", "Rachel", "Sarah", "Laura", "Anna", "Clara", "Diana",
    "Fiona", "Helen", "Irene", "Julia", "Karen", "Linda", "Maria", "Nancy", "Olga", "Rosa",
    "Sofia", "Ursula", "Vera", "Wendy", "Yasmin", "Adam", "Brian", "Carl", "David", "Eric",
    "Gary", "Ian", "Kevin", "Mark", "Neil", "Oscar", "Paul", "Ryan", "Scott", "Simon",
    "Trevor", "Victor", "Wayne", "Aaron", "Adrian", "Colin", "Dennis", "Derek", "Felix",
    "George", "Hugo", "Isaac", "Jacob", "Jason", "Keith", "Lucas", "Martin", "Noah", "Owen",
    "Patrick", "Quentin", "Ross", "Sebastian", "Tobias", "Xavier", "Yusuf", "Ahmed", "Ali",
    "Karim", "Khalid", "Tariq", "Zainab", "Leila", "Mariam", "Samira", "Jin", "Hao", "Xiu",
    "Min-jun", "Ji-woo", "Seo-yeon", "Hyun", "Tuan", "Linh", "Minh", "Carlos", "Diego",
    "Javier", "Luis", "Pablo", "Sergio", "Carmen", "Lucía", "Elena", "Pilar", "Marco",
    "Luca", "Matteo", "Paolo", "Chiara", "Giulia", "Francesca", "Pierre", "Jean", "Louis",
    "Camille", "Chloé", "Élodie", "Amélie", "Margaux", "Jürgen", "Klaus", "Stefan", "Uwe",
    "Dieter", "Anke", "Birgit", "Heike", "Sabine", "Ute", "Pieter", "Joost", "Sanne",
    "Femke", "Anouk", "Bram", "Sipho", "Lerato", "Nomvula", "Kofi", "Yaw", "Abena",
    "Adebayo", "Chinedu", "Emeka", "Folake", "Ravi", "Sunita", "Vikram", "Kavya", "Arun",
    "Meera", "Ingrid", "Henrik", "Magnus", "Sigrid", "Elin", "Mateusz", "Agnieszka",
    "Tomasz", "Katarzyna", "Piotr", "Zofia", "Andrei", "Ioana", "Mihai", "Nikos", "Eleni",
    "Yannis", "Dimitra", "Kemal", "Elif", "Emre", "Zeynep", "Rafael", "Beatriz", "Joao",
    "Mariana", "Thiago", "Camila", "Mateo", "Valentina", "Santiago", "Isabel", "Esther",
    "Miriam", "Rivka", "Eitan", "Noa", "Ari",
)  # fmt: skip
GIVEN_NAMES: tuple[str, ...] = tuple(dict.fromkeys((*NICKNAMES, *_OTHER_GIVEN_NAMES)))

SURNAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Evans", "Davies", "Hughes",
    "Edwards", "Collins", "Stewart", "Morris", "Murray", "Cooper", "Ward", "Turner",
    "Phillips", "Parker", "Morgan", "Bell", "Wood", "Watson", "Brooks", "Kennedy",
    "Graham", "Fraser", "MacDonald", "McKenzie", "Reid", "Lovelace", "Babbage", "Hopper",
    "Turing", "Franklin", "Ellison", "Fletcher", "Thornton", "Whitfield", "Ashworth",
    "Pemberton", "Holloway", "Blackwood", "Kingsley", "Hargreaves", "Patel", "Khan",
    "Singh", "Sharma", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Mehta", "Shah", "Desai",
    "Chatterjee", "Banerjee", "Rao", "Müller", "Schmidt", "Schneider", "Fischer", "Weber",
    "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf",
    "Schröder", "Neumann", "Zimmermann", "Krüger", "Bernard", "Dubois", "Durand",
    "Lefebvre", "Moreau", "Laurent", "Simon", "Michel", "Leroy", "Roux", "Fournier",
    "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rossi", "Russo", "Ferrari",
    "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno",
    "Gallo", "Conti", "De Luca", "Costa", "de Jong", "Jansen", "de Vries", "van den Berg",
    "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos",
    "Murphy", "Kelly", "O'Sullivan", "Walsh", "O'Brien", "Byrne", "Ryan", "O'Connor",
    "O'Neill", "McCarthy", "Doyle", "Gallagher", "Fernández", "García", "Martín",
    "Jiménez", "Ruiz", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Navarro",
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
    "Sun", "Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto",
    "Nakamura", "Kobayashi", "Kato", "Kim", "Park", "Choi", "Jung", "Kang", "Tran", "Pham",
    "Le", "Al-Sayed", "Haddad", "Khalil", "Mansour", "Nasser", "Hamdan", "Aziz", "Rahman",
    "Hussain", "Okafor", "Adeyemi", "Mensah", "Okonkwo", "Ndlovu", "Dlamini", "Mokoena",
    "Kamau", "Otieno", "Abubakar", "Boateng", "Asante", "Johansson", "Andersson",
    "Karlsson", "Nilsson", "Eriksson", "Larsen", "Hansen", "Nielsen", "Olsen",
    "Virtanen", "Korhonen", "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński",
    "Lewandowski", "Popescu", "Ionescu", "Papadopoulos", "Georgiou", "Yilmaz", "Kaya",
    "Demir", "Silva", "Santos", "Oliveira", "Pereira", "Ferreira", "Cohen", "Levi",
    "Friedman", "Petrov", "Ivanov", "Smirnov", "Volkov", "Novak", "Horvat", "Kovač",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Country:
    code: str
    calling_code: str
    trunk: str  # national trunk prefix ("0", "1" for NANP, "" when none)
    phone_groups: tuple[int, ...]  # digit groups of the national significant number
    national_id: str  # template: # digit, @ letter, * letter or digit
    registration_id: str
    legal_forms: tuple[tuple[str, ...], ...]  # each group: equivalent spellings
    currency: str
    street_style: str


@dataclass(frozen=True, slots=True)
class _City:
    name: str
    state: str
    country: str
    postcodes: tuple[str, ...]  # templates, as for national ids
    lat: float
    lon: float


_COUNTRIES: dict[str, _Country] = {
    c.code: c
    for c in (
        _Country("GB", "44", "0", (2, 4, 4), "@@######@", "########",
                 (("Limited", "Ltd", "Ltd."), ("PLC", "plc", "Public Limited Company")),
                 "GBP", "en"),
        _Country("US", "1", "1", (3, 3, 4), "9##-##-####", "##-#######",
                 (("Incorporated", "Inc", "Inc."), ("Corporation", "Corp", "Corp."),
                  ("LLC", "L.L.C.", "Limited Liability Company")),
                 "USD", "en"),
        _Country("CA", "1", "1", (3, 3, 4), "### ### ###", "#########",
                 (("Incorporated", "Inc.", "Inc"), ("Limited", "Ltd.", "Ltd")),
                 "CAD", "en"),
        _Country("IE", "353", "0", (1, 3, 4), "#######@", "######",
                 (("Limited", "Ltd"), ("DAC", "Designated Activity Company")),
                 "EUR", "en"),
        _Country("DE", "49", "0", (2, 4, 4), "###########", "HRB ######",
                 (("GmbH", "Gesellschaft mit beschränkter Haftung"), ("AG", "Aktiengesellschaft")),
                 "EUR", "de"),
        _Country("FR", "33", "0", (1, 2, 2, 2, 2), "###############", "### ### ###",
                 (("SA", "S.A.", "Société Anonyme"), ("SARL", "S.A.R.L.")),
                 "EUR", "fr"),
        _Country("NL", "31", "0", (2, 3, 4), "#########", "########",
                 (("B.V.", "BV", "Besloten Vennootschap"), ("N.V.", "NV")),
                 "EUR", "nl"),
        _Country("ES", "34", "", (3, 3, 3), "########@", "@########",
                 (("S.L.", "SL", "Sociedad Limitada"), ("S.A.", "SA", "Sociedad Anónima")),
                 "EUR", "es"),
        _Country("IT", "39", "", (2, 4, 4), "@@@@@@##@##@###@", "###########",
                 (("S.p.A.", "SpA", "Società per Azioni"), ("S.r.l.", "Srl")),
                 "EUR", "it"),
        _Country("AU", "61", "0", (1, 4, 4), "### ### ###", "## ### ### ###",
                 (("Pty Ltd", "Pty Limited", "Proprietary Limited"),),
                 "AUD", "en"),
        _Country("SG", "65", "", (4, 4), "S#######@", "#########@",
                 (("Pte Ltd", "Pte. Ltd.", "Private Limited"),),
                 "SGD", "en"),
        _Country("JP", "81", "0", (2, 4, 4), "############", "#############",
                 (("K.K.", "KK", "Kabushiki Kaisha"),),
                 "JPY", "jp"),
        _Country("IN", "91", "0", (5, 5), "#### #### ####", "U#####MH####PTC######",
                 (("Private Limited", "Pvt Ltd", "Pvt. Ltd."),),
                 "INR", "en"),
        _Country("ZA", "27", "0", (2, 3, 4), "#############", "####/######/07",
                 (("(Pty) Ltd", "Proprietary Limited", "Pty Ltd"),),
                 "ZAR", "en"),
        _Country("CH", "41", "0", (2, 3, 2, 2), "756.####.####.##", "CHE-###.###.###",
                 (("AG", "SA"), ("GmbH", "Sàrl")),
                 "CHF", "de"),
    )
}  # fmt: skip

_LEGAL_FORM_GROUPS: tuple[tuple[str, ...], ...] = tuple(
    dict.fromkeys(group for country in _COUNTRIES.values() for group in country.legal_forms)
)

CITIES: tuple[_City, ...] = (
    _City("London", "England", "GB", ("EC1A #@@", "SW1A #@@", "E1 #@@"), 51.5074, -0.1278),
    _City("Manchester", "England", "GB", ("M1 #@@", "M4 #@@", "M15 #@@"), 53.4808, -2.2426),
    _City("Birmingham", "England", "GB", ("B1 #@@", "B5 #@@"), 52.4862, -1.8904),
    _City("Leeds", "England", "GB", ("LS1 #@@", "LS6 #@@"), 53.8008, -1.5491),
    _City("Glasgow", "Scotland", "GB", ("G1 #@@", "G12 #@@"), 55.8642, -4.2518),
    _City("Edinburgh", "Scotland", "GB", ("EH1 #@@", "EH3 #@@"), 55.9533, -3.1883),
    _City("Bristol", "England", "GB", ("BS1 #@@", "BS8 #@@"), 51.4545, -2.5879),
    _City("Liverpool", "England", "GB", ("L1 #@@", "L3 #@@"), 53.4084, -2.9916),
    _City("Cardiff", "Wales", "GB", ("CF10 #@@", "CF11 #@@"), 51.4816, -3.1791),
    _City("Belfast", "Northern Ireland", "GB", ("BT1 #@@", "BT7 #@@"), 54.5973, -5.9301),
    _City("New York", "NY", "US", ("100##",), 40.7128, -74.0060),
    _City("Los Angeles", "CA", "US", ("900##",), 34.0522, -118.2437),
    _City("Chicago", "IL", "US", ("606##",), 41.8781, -87.6298),
    _City("Houston", "TX", "US", ("770##",), 29.7604, -95.3698),
    _City("Phoenix", "AZ", "US", ("850##",), 33.4484, -112.0740),
    _City("Philadelphia", "PA", "US", ("191##",), 39.9526, -75.1652),
    _City("San Francisco", "CA", "US", ("941##",), 37.7749, -122.4194),
    _City("Seattle", "WA", "US", ("981##",), 47.6062, -122.3321),
    _City("Boston", "MA", "US", ("021##",), 42.3601, -71.0589),
    _City("Miami", "FL", "US", ("331##",), 25.7617, -80.1918),
    _City("Denver", "CO", "US", ("802##",), 39.7392, -104.9903),
    _City("Atlanta", "GA", "US", ("303##",), 33.7490, -84.3880),
    _City("Toronto", "ON", "CA", ("M5V #@#", "M4W #@#"), 43.6532, -79.3832),
    _City("Vancouver", "BC", "CA", ("V6B #@#", "V5K #@#"), 49.2827, -123.1207),
    _City("Montreal", "QC", "CA", ("H2X #@#", "H3B #@#"), 45.5017, -73.5673),
    _City("Dublin", "Leinster", "IE", ("D02 @#*#", "D04 @#*#"), 53.3498, -6.2603),
    _City("Cork", "Munster", "IE", ("T12 @#*#",), 51.8985, -8.4756),
    _City("Berlin", "Berlin", "DE", ("101##", "107##"), 52.5200, 13.4050),
    _City("Munich", "Bayern", "DE", ("803##", "804##"), 48.1351, 11.5820),
    _City("Hamburg", "Hamburg", "DE", ("203##", "221##"), 53.5511, 9.9937),
    _City("Frankfurt am Main", "Hessen", "DE", ("603##",), 50.1109, 8.6821),
    _City("Paris", "Île-de-France", "FR", ("750##",), 48.8566, 2.3522),
    _City("Lyon", "Auvergne-Rhône-Alpes", "FR", ("690##",), 45.7640, 4.8357),
    _City("Marseille", "Provence-Alpes-Côte d'Azur", "FR", ("130##",), 43.2965, 5.3698),
    _City("Amsterdam", "Noord-Holland", "NL", ("10## @@",), 52.3676, 4.9041),
    _City("Rotterdam", "Zuid-Holland", "NL", ("30## @@",), 51.9244, 4.4777),
    _City("Madrid", "Comunidad de Madrid", "ES", ("280##",), 40.4168, -3.7038),
    _City("Barcelona", "Cataluña", "ES", ("080##",), 41.3851, 2.1734),
    _City("Rome", "Lazio", "IT", ("001##",), 41.9028, 12.4964),
    _City("Milan", "Lombardia", "IT", ("201##",), 45.4642, 9.1900),
    _City("Sydney", "NSW", "AU", ("20##",), -33.8688, 151.2093),
    _City("Melbourne", "VIC", "AU", ("30##",), -37.8136, 144.9631),
    _City("Brisbane", "QLD", "AU", ("40##",), -27.4698, 153.0251),
    _City("Singapore", "Singapore", "SG", ("0#####", "1#####"), 1.3521, 103.8198),
    _City("Tokyo", "Tokyo", "JP", ("100-####", "106-####"), 35.6762, 139.6503),
    _City("Mumbai", "Maharashtra", "IN", ("4000##",), 19.0760, 72.8777),
    _City("Bengaluru", "Karnataka", "IN", ("5600##",), 12.9716, 77.5946),
    _City("Johannesburg", "Gauteng", "ZA", ("20##",), -26.2041, 28.0473),
    _City("Cape Town", "Western Cape", "ZA", ("80##",), -33.9249, 18.4241),
    _City("Zurich", "Zürich", "CH", ("80##",), 47.3769, 8.5417),
    _City("Geneva", "Genève", "CH", ("12##",), 46.2044, 6.1432),
)  # fmt: skip

_CITY_BY_NAME = {city.name: city for city in CITIES}
_ADDRESS_KEYS = ("street", "city", "postcode", "state", "country")

_EN_STREETS = (
    "High", "Church", "Station", "Victoria", "Main", "Park", "Oak", "Maple", "Elm", "Mill",
    "King", "Queen", "Bridge", "Market", "Green", "Manor", "Cedar", "Lake", "Hill",
    "Washington", "Lincoln", "Riverside", "Harbour", "Castle", "Abbey", "Albert", "Chapel",
    "School", "Union", "Broad", "Water", "Spring", "Willow", "Chestnut", "North", "South",
    "Kingsway", "Grosvenor", "Regent", "Wellington",
)  # fmt: skip
_EN_STREET_TYPES = (
    "Street", "Road", "Avenue", "Lane", "Drive", "Way", "Place", "Court", "Crescent",
    "Boulevard", "Terrace", "Close", "Square", "Gardens",
)  # fmt: skip
_LOCAL_STREETS: dict[str, tuple[str, ...]] = {
    "de": ("Hauptstraße", "Bahnhofstraße", "Schulstraße", "Gartenweg", "Dorfstraße",
           "Bergstraße", "Lindenallee", "Kirchgasse", "Waldweg", "Ringstraße", "Marktplatz"),
    "fr": ("rue de la République", "avenue Victor Hugo", "rue Jean Jaurès", "rue de la Paix",
           "boulevard Pasteur", "avenue du Général de Gaulle", "rue des Lilas",
           "place Voltaire", "rue Nationale"),
    "nl": ("Kerkstraat", "Dorpsstraat", "Molenweg", "Schoolstraat", "Havenkade",
           "Prinsengracht", "Herengracht", "Keizersgracht", "Stationsplein"),
    "es": ("Calle Mayor", "Calle Real", "Calle de Alcalá", "Gran Vía", "Calle del Sol",
           "Avenida de la Paz", "Paseo de Gracia", "Calle de Serrano"),
    "it": ("Via Roma", "Via Garibaldi", "Via Mazzini", "Via Dante", "Via Verdi",
           "Corso Cavour", "Via Marconi", "Piazza del Duomo"),
    "jp": ("Marunouchi", "Nihonbashi", "Roppongi", "Shibuya", "Ginza", "Akasaka"),
}  # fmt: skip
# Street-type word -> the abbreviation another source may write.
_ADDRESS_ABBREVIATIONS: dict[str, str] = {
    "Street": "St", "Road": "Rd", "Avenue": "Ave", "Lane": "Ln", "Drive": "Dr",
    "Place": "Pl", "Court": "Ct", "Crescent": "Cres", "Boulevard": "Blvd",
    "Terrace": "Ter", "Square": "Sq", "Gardens": "Gdns", "straße": "str.",
    "straat": "str.", "avenue": "av.", "boulevard": "bd", "Calle": "C/", "Avenida": "Av.",
    "Via": "V.", "Corso": "C.so",
}  # fmt: skip

_EMAIL_DOMAINS = (
    "example.com", "example.net", "example.org", "mail.example", "inbox.test", "post.example",
)  # fmt: skip

ORG_STEMS: tuple[str, ...] = (
    "Northwind", "Blue Harbor", "Apex", "Summit", "Crescent", "Meridian", "Ironbridge",
    "Silverline", "Redwood", "Oakridge", "Pinecrest", "Starling", "Falcon", "Kestrel",
    "Granite", "Cobalt", "Sterling", "Halcyon", "Beacon", "Lighthouse", "Evergreen",
    "Riverside", "Westgate", "Eastbrook", "Highland", "Lakeshore", "Stonegate",
    "Brightwater", "Goldcrest", "Harbourview", "Nova", "Orion", "Vega", "Atlas", "Polaris",
    "Zenith", "Vertex", "Quantum", "Helix", "Nimbus", "Aurora", "Cascade", "Pioneer",
    "Vanguard", "Keystone", "Sentinel", "Trident", "Ember", "Juniper", "Magnolia",
    "Cedarwood", "Greyfield", "Whitestone", "Copperfield", "Ashford", "Bramble",
    "Thornbury", "Windmere", "Kingsbridge", "Queensway", "Marlowe", "Carrington",
    "Fairview", "Clearwater", "Driftwood", "Seabright", "Skyline", "Suncrest", "Larkspur",
    "Obsidian", "Saffron", "Tamarind", "Wolfram", "Zephyr", "Alder", "Birchwood",
)  # fmt: skip
ORG_SECTORS: tuple[str, ...] = (
    "Logistics", "Holdings", "Capital", "Trading", "Systems", "Shipping", "Pharma",
    "Energy", "Foods", "Analytics", "Consulting", "Partners", "Industries", "Technologies",
    "Freight", "Minerals", "Ventures", "Media", "Security", "Engineering", "Construction",
    "Imports", "Textiles", "Marine", "Aviation", "Labs", "Networks", "Telecom",
    "Investments", "Properties", "Resources", "Solutions", "Group", "Software", "Robotics",
    "Biotech", "Chemicals", "Metals", "Motors", "Insurance", "Finance", "Healthcare",
    "Brands", "Retail", "Wholesale", "Distribution", "Data", "Supplies",
)  # fmt: skip

_BANKS = (
    "Northbridge Bank", "Harbour Savings", "First Meridian Bank", "Crown Mutual",
    "Alpine Trust", "Pacific Crest Bank", "Union Fidelity", "Lakeside Credit Union",
    "Sterling & Vale", "Atlas Commercial Bank",
)  # fmt: skip
_EXCHANGES = ("CoinHarbor Exchange", "Ledgerline Markets", "BitMeridian")
_DEVICE_MODELS: tuple[tuple[str, str, str, str], ...] = (
    ("mobile", "Apple", "iPhone 14", "iOS 17"),
    ("mobile", "Apple", "iPhone 15 Pro", "iOS 17"),
    ("mobile", "Samsung", "Galaxy S23", "Android 14"),
    ("mobile", "Samsung", "Galaxy A54", "Android 13"),
    ("mobile", "Google", "Pixel 8", "Android 14"),
    ("mobile", "Xiaomi", "Redmi Note 12", "Android 13"),
    ("mobile", "Nokia", "G42", "Android 13"),
    ("laptop", "Lenovo", "ThinkPad X1 Carbon", "Windows 11"),
    ("laptop", "Dell", "Latitude 7440", "Windows 11"),
    ("laptop", "Apple", "MacBook Air M2", "macOS 14"),
    ("laptop", "HP", "EliteBook 840", "Windows 10"),
    ("desktop", "Dell", "OptiPlex 7010", "Windows 11"),
    ("tablet", "Apple", "iPad Air", "iPadOS 17"),
    ("tablet", "Samsung", "Galaxy Tab S9", "Android 14"),
    ("router", "TP-Link", "Archer AX55", "firmware 1.2"),
)
_POI_KINDS = ("airport", "port", "hotel", "cafe", "warehouse", "data centre", "marina")

_QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_NEIGHBOURS: dict[str, str] = {}
for _row_index, _row in enumerate(_QWERTY_ROWS):
    for _col, _key in enumerate(_row):
        _near = [_row[j] for j in (_col - 1, _col + 1) if 0 <= j < len(_row)]
        for _other in (_row_index - 1, _row_index + 1):
            if 0 <= _other < len(_QWERTY_ROWS):
                _near += [
                    _QWERTY_ROWS[_other][j]
                    for j in (_col - 1, _col, _col + 1)
                    if 0 <= j < len(_QWERTY_ROWS[_other])
                ]
        _KEY_NEIGHBOURS[_key] = "".join(_near)

# ---------------------------------------------------------------------------------------
# Public types
# ---------------------------------------------------------------------------------------

CORRUPTION_KINDS: tuple[str, ...] = (
    # Applied in this order: name-level first so a later typo or case change can land on
    # a nickname, then format changes, noise, and finally dropped fields.
    "nickname",
    "name_swap",
    "typo",
    "dob_swap",
    "phone_format",
    "email_case",
    "address_abbreviation",
    "org_suffix",
    "website_format",
    "whitespace_case",
    "missing_field",
)
_PERSON_KINDS = frozenset(
    {"nickname", "name_swap", "typo", "dob_swap", "phone_format", "email_case",
     "address_abbreviation", "whitespace_case", "missing_field"}
)  # fmt: skip
_ORG_KINDS = frozenset(
    {"typo", "phone_format", "address_abbreviation", "org_suffix", "website_format",
     "whitespace_case", "missing_field"}
)  # fmt: skip


@dataclass(frozen=True)
class CorruptionProfile:
    """How duplicates are made: which share of entities get them, and how they differ.

    ``duplicate_share`` of the real-world entities get between 1 and ``max_duplicates``
    extra records. Every other field is the probability that one duplicate record gets that
    kind of corruption, when the kind applies to it (a nickname needs a given name that
    has one, a day/month swap needs a day of 12 or less that differs from the month…).
    A duplicate that would come out identical to the original gets one forced typo.
    """

    duplicate_share: float = 0.2
    max_duplicates: int = 3
    typo: float = 0.35  # insert, delete, substitute (keyboard neighbour) or transpose
    name_swap: float = 0.08  # given name and surname exchanged
    nickname: float = 0.25  # William -> Bill
    missing_field: float = 0.3  # one or two optional fields absent
    dob_swap: float = 0.1  # 1984-03-07 -> 1984-07-03
    phone_format: float = 0.5  # +442079460123 -> 020 7946 0123
    email_case: float = 0.25  # ada.lovelace@example.com -> Ada.Lovelace@Example.com
    address_abbreviation: float = 0.25  # Street -> St
    org_suffix: float = 0.5  # Limited <-> Ltd, Incorporated <-> Inc, & <-> and
    website_format: float = 0.3  # https://www.acme.example -> acme.example
    whitespace_case: float = 0.2  # upper/lower case, doubled or padding spaces

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "max_duplicates":
                if not isinstance(value, int) or value < 1:
                    raise ValueError(f"max_duplicates must be an int >= 1, got {value!r}")
            elif not 0.0 <= value <= 1.0:
                raise ValueError(f"{item.name} must be a probability in [0, 1], got {value!r}")

    def rate(self, kind: str) -> float:
        """The probability that a duplicate gets corruption ``kind`` (one of CORRUPTION_KINDS)."""
        if kind not in CORRUPTION_KINDS:
            raise ValueError(f"unknown corruption kind {kind!r}")
        rate: float = getattr(self, kind)
        return rate


@dataclass(frozen=True)
class SyntheticRecord:
    """One source's record of a real-world entity.

    Records of the same entity share ``cluster_id`` (the truth for resolution). The
    original record has no ``corruptions``; a duplicate lists the kinds applied to it.
    """

    record_id: str
    entity_type: str
    cluster_id: str
    attributes: dict[str, str]
    source: str
    corruptions: tuple[str, ...] = ()

    @property
    def is_duplicate(self) -> bool:
        """True for a corrupted copy from another source, False for the original."""
        return bool(self.corruptions)


# ---------------------------------------------------------------------------------------
# Canonical attributes
# ---------------------------------------------------------------------------------------


def _fill(template: str, rng: random.Random) -> str:
    """Expand ``#`` to a digit, ``@`` to a capital letter and ``*`` to either."""
    out = []
    for char in template:
        if char == "#":
            out.append(str(rng.randrange(10)))
        elif char == "@":
            out.append(chr(65 + rng.randrange(26)))
        elif char == "*":
            out.append(rng.choice("ACDEFHKNPRTVWXY0123456789"))
        else:
            out.append(char)
    return "".join(out)


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _national_number(country: _Country, rng: random.Random) -> str:
    digits = sum(country.phone_groups)
    # First digit 2-9 keeps numbers away from trunk and special prefixes.
    return str(rng.randrange(2, 10)) + "".join(str(rng.randrange(10)) for _ in range(digits - 1))


def _e164(country: _Country, national: str) -> str:
    return f"+{country.calling_code}{national}"


def _split_phone(phone: str) -> tuple[_Country, str] | None:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not phone.startswith("+"):
        return None
    for country in _COUNTRIES.values():
        rest = digits[len(country.calling_code) :]
        if digits.startswith(country.calling_code) and len(rest) == sum(country.phone_groups):
            return country, rest
    return None


def _phone_styles(country: _Country, national: str) -> list[str]:
    groups = []
    start = 0
    for size in country.phone_groups:
        groups.append(national[start : start + size])
        start += size
    cc, trunk = country.calling_code, country.trunk
    area, rest = groups[0], groups[1:]
    styles = [
        _e164(country, national),
        f"+{cc} {' '.join(groups)}",
        f"+{cc}-{'-'.join(groups)}",
        f"00{cc} {' '.join(groups)}",
        f"+{cc}.{'.'.join(groups)}",
    ]
    if trunk == "1":  # NANP: (212) 555-0123, 212-555-0123, 1-212-555-0123
        styles += [
            f"({area}) {rest[0]}-{''.join(rest[1:])}",
            "-".join(groups),
            f"1-{'-'.join(groups)}",
        ]
    elif trunk:
        styles += [
            f"{trunk}{area} {' '.join(rest)}",
            f"({trunk}{area}) {' '.join(rest)}",
            f"+{cc} ({trunk}){area} {' '.join(rest)}",
            f"{trunk}{national}",
        ]
    else:
        styles += [" ".join(groups), national]
    return styles


def _street(country: _Country, rng: random.Random) -> str:
    number = rng.randrange(1, 240)
    style = country.street_style
    if style == "en":
        return f"{number} {rng.choice(_EN_STREETS)} {rng.choice(_EN_STREET_TYPES)}"
    name = rng.choice(_LOCAL_STREETS[style])
    if style == "fr":
        return f"{number} {name}"
    if style in ("es", "it"):
        return f"{name}, {number}"
    if style == "jp":
        return f"{rng.randrange(1, 9)}-{rng.randrange(1, 20)}-{rng.randrange(1, 30)} {name}"
    return f"{name} {number}"


def _address(rng: random.Random, city: _City | None = None) -> dict[str, str]:
    city = city if city is not None else rng.choice(CITIES)
    country = _COUNTRIES[city.country]
    return {
        "street": _street(country, rng),
        "city": city.name,
        "postcode": _fill(rng.choice(city.postcodes), rng),
        "state": city.state,
        "country": city.country,
    }


def _dob(rng: random.Random) -> str:
    year = rng.randrange(1940, 2005)
    return f"{year:04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def _mod97_check(body: str) -> str:
    """ISO 7064 MOD 97-10 check digits (as used by LEIs and IBANs) for ``body``."""
    numeric = "".join(str(int(ch, 36)) for ch in body)
    return f"{98 - int(numeric + '00') % 97:02d}"


def _lei(rng: random.Random) -> str:
    body = rng.choice(("5493", "2138", "5299", "9845", "8945", "3912", "7245")) + "00"
    body += "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(12))
    return body + _mod97_check(body)


def _luhn_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return str((10 - total % 10) % 10)


def _make_person(rng: random.Random, used_emails: set[str]) -> dict[str, str]:
    given = rng.choice(GIVEN_NAMES)
    surname = rng.choice(SURNAMES)
    address = _address(rng)
    country = _COUNTRIES[address["country"]]
    local = rng.choice(
        (
            f"{_ascii_slug(given)}.{_ascii_slug(surname)}",
            f"{_ascii_slug(given)[:1]}{_ascii_slug(surname)}",
            f"{_ascii_slug(given)}_{_ascii_slug(surname)}",
            f"{_ascii_slug(surname)}.{_ascii_slug(given)}",
        )
    )
    email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
    while email in used_emails:
        email = f"{local}{rng.randrange(1, 1000)}@{rng.choice(_EMAIL_DOMAINS)}"
    used_emails.add(email)
    return {
        "given_name": given,
        "surname": surname,
        "full_name": f"{given} {surname}",
        "dob": _dob(rng),
        **address,
        "email": email,
        "phone": _e164(country, _national_number(country, rng)),
        "national_id": _fill(country.national_id, rng),
    }


def _make_organization(rng: random.Random, used_names: set[str]) -> dict[str, str]:
    address = _address(rng)
    country = _COUNTRIES[address["country"]]
    while True:
        pattern = rng.random()
        if pattern < 0.55:
            base = f"{rng.choice(ORG_STEMS)} {rng.choice(ORG_SECTORS)}"
        elif pattern < 0.75:
            first, second = rng.sample(ORG_SECTORS, 2)
            base = f"{rng.choice(ORG_STEMS)} {first} & {second}"
        elif pattern < 0.9:
            base = f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)}"
        else:
            base = f"{rng.choice(SURNAMES)} {rng.choice(ORG_SECTORS)}"
        legal = rng.choice(rng.choice(country.legal_forms))
        name = f"{base} {legal}"
        if name not in used_names:
            used_names.add(name)
            break
    slug = _ascii_slug(base)[:24]
    tld = rng.choice(("example", "example.com", "test"))
    return {
        "name": name,
        "registration_id": _fill(country.registration_id, rng),
        "lei": _lei(rng),
        **{key: address[key] for key in _ADDRESS_KEYS},
        "website": f"https://www.{slug}.{tld}",
        "phone": _e164(country, _national_number(country, rng)),
    }


# ---------------------------------------------------------------------------------------
# Corruptions: each returns True when it changed the record (False: it does not apply)
# ---------------------------------------------------------------------------------------

_Corruptor = Callable[[dict[str, str], random.Random], bool]


def _typo_text(value: str, rng: random.Random) -> str:
    """One keyboard slip: insert, delete, substitute or transpose a character."""
    if len(value) < 2:
        return value + rng.choice("aeinorst")
    # Rarely the first character: people mistype the middle of words.
    position = rng.randrange(1, len(value))
    operation = rng.choice(("insert", "delete", "substitute", "transpose"))
    current = value[position]
    if operation == "transpose" and value[position - 1] != current:
        return value[: position - 1] + current + value[position - 1] + value[position + 1 :]
    if operation == "delete":
        return value[:position] + value[position + 1 :]
    neighbours = _KEY_NEIGHBOURS.get(current.lower(), "aeinorst").replace(current.lower(), "")
    replacement = rng.choice(neighbours or "aeinorst")
    if current.isupper():
        replacement = replacement.upper()
    if operation == "insert":
        return value[:position] + replacement + value[position:]
    return value[:position] + replacement + value[position + 1 :]


def _refresh_full_name(attrs: dict[str, str]) -> None:
    if "full_name" in attrs:
        attrs["full_name"] = f"{attrs['given_name']} {attrs['surname']}"


def _nickname(attrs: dict[str, str], rng: random.Random) -> bool:
    nicknames = NICKNAMES.get(attrs.get("given_name", ""))
    if not nicknames:
        return False
    attrs["given_name"] = rng.choice(nicknames)
    _refresh_full_name(attrs)
    return True


def _name_swap(attrs: dict[str, str], rng: random.Random) -> bool:
    if "given_name" not in attrs or "surname" not in attrs:
        return False
    attrs["given_name"], attrs["surname"] = attrs["surname"], attrs["given_name"]
    _refresh_full_name(attrs)
    return True


_TYPO_FIELDS = ("given_name", "surname", "name", "street", "city", "email")


def _typo(attrs: dict[str, str], rng: random.Random) -> bool:
    candidates = [key for key in _TYPO_FIELDS if attrs.get(key)]
    if not candidates:
        return False
    key = rng.choice(candidates)
    value = attrs[key]
    if key == "email" and "@" in value:
        local, domain = value.split("@", 1)
        attrs[key] = f"{_typo_text(local, rng)}@{domain}"
    else:
        attrs[key] = _typo_text(value, rng)
    if key in ("given_name", "surname"):
        _refresh_full_name(attrs)
    return attrs[key] != value


def _dob_swap(attrs: dict[str, str], rng: random.Random) -> bool:
    parts = attrs.get("dob", "").split("-")
    if len(parts) != 3 or not parts[2].isdigit():
        return False
    year, month, day = parts
    if int(day) > 12 or day == month:
        return False
    attrs["dob"] = f"{year}-{day}-{month}"
    return True


def _phone_format(attrs: dict[str, str], rng: random.Random) -> bool:
    phone = attrs.get("phone", "")
    split = _split_phone(phone)
    if split is None:
        return False
    styles = [style for style in _phone_styles(*split) if style != phone]
    attrs["phone"] = rng.choice(styles)
    return True


def _email_case(attrs: dict[str, str], rng: random.Random) -> bool:
    email = attrs.get("email", "")
    if "@" not in email:
        return False
    local, domain = email.split("@", 1)
    variants = {
        f"{'.'.join(part.capitalize() for part in local.split('.'))}@{domain.capitalize()}",
        email.upper(),
        f"{local.capitalize()}@{domain}",
        f"{local}@{domain.upper()}",
    }
    variants.discard(email)
    if not variants:
        return False
    attrs["email"] = rng.choice(sorted(variants))
    return True


def _address_abbreviation(attrs: dict[str, str], rng: random.Random) -> bool:
    street = attrs.get("street", "")
    for full, short in _ADDRESS_ABBREVIATIONS.items():
        if full in street:
            attrs["street"] = street.replace(full, short, 1)
            return True
    return False


def _org_suffix(attrs: dict[str, str], rng: random.Random) -> bool:
    name = attrs.get("name", "")
    options: list[str] = []
    if " & " in name:
        options.append(name.replace(" & ", " and ", 1))
    matches = [
        (form, group) for group in _LEGAL_FORM_GROUPS for form in group if name.endswith(" " + form)
    ]
    if matches:
        # The longest match: "Acme Pty Ltd" is an Australian "Pty Ltd", not a British "Ltd".
        form, group = max(matches, key=lambda match: len(match[0]))
        stem = name[: -len(form)]
        options += [stem + other for other in group if other != form]
        options.append(stem.rstrip())  # some sources drop the legal form altogether
    options = [option for option in dict.fromkeys(options) if option and option != name]
    if not options:
        return False
    attrs["name"] = rng.choice(options)
    return True


def _website_format(attrs: dict[str, str], rng: random.Random) -> bool:
    website = attrs.get("website", "")
    if not website:
        return False
    host = website.split("://", 1)[-1].rstrip("/")
    bare = host.removeprefix("www.")
    variants = {
        bare,
        f"www.{bare}",
        f"http://{bare}/",
        f"https://{bare}",
        f"{website}/",
        website.upper(),
    }
    variants.discard(website)
    attrs["website"] = rng.choice(sorted(variants))
    return True


_NOISE_FIELDS = ("full_name", "given_name", "surname", "name", "street", "city", "postcode")


def _whitespace_case(attrs: dict[str, str], rng: random.Random) -> bool:
    candidates = [key for key in _NOISE_FIELDS if attrs.get(key, "").strip()]
    if not candidates:
        return False
    changed = False
    for key in rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2)))):
        value = attrs[key]
        variants = {
            value.upper(),
            value.lower(),
            f" {value}",
            f"{value} ",
            value.replace(" ", "  ", 1),
        }
        variants.discard(value)
        if variants:
            attrs[key] = rng.choice(sorted(variants))
            changed = True
    return changed


_OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "PERSON": ("dob", "street", "postcode", "state", "email", "phone", "national_id"),
    "ORGANIZATION": ("registration_id", "lei", "street", "postcode", "state", "website", "phone"),
}


def _missing_field_for(entity_type: str) -> _Corruptor:
    optional = _OPTIONAL_FIELDS[entity_type]

    def drop(attrs: dict[str, str], rng: random.Random) -> bool:
        present = [key for key in optional if key in attrs]
        if not present:
            return False
        for key in rng.sample(present, min(len(present), rng.choice((1, 1, 2)))):
            del attrs[key]
        return True

    return drop


_CORRUPTORS: dict[str, _Corruptor] = {
    "nickname": _nickname,
    "name_swap": _name_swap,
    "typo": _typo,
    "dob_swap": _dob_swap,
    "phone_format": _phone_format,
    "email_case": _email_case,
    "address_abbreviation": _address_abbreviation,
    "org_suffix": _org_suffix,
    "website_format": _website_format,
    "whitespace_case": _whitespace_case,
}


def _corrupt(
    canonical: dict[str, str],
    entity_type: str,
    kinds: frozenset[str],
    profile: CorruptionProfile,
    rng: random.Random,
) -> tuple[dict[str, str], tuple[str, ...]]:
    attrs = dict(canonical)
    applied: list[str] = []
    for kind in CORRUPTION_KINDS:
        if kind not in kinds:
            continue
        # Draw for every kind, applicable or not, so one kind's rate never shifts another's.
        if rng.random() >= profile.rate(kind):
            continue
        corruptor = (
            _missing_field_for(entity_type) if kind == "missing_field" else _CORRUPTORS[kind]
        )
        if corruptor(attrs, rng):
            applied.append(kind)
    if attrs == canonical and _typo(attrs, rng) and "typo" not in applied:
        applied.append("typo")  # a duplicate must differ from its original
    return attrs, tuple(applied)


def _generate(
    entity_type: str,
    n_clusters: int,
    seed: int,
    profile: CorruptionProfile | None,
    make: Callable[[random.Random, set[str]], dict[str, str]],
    kinds: frozenset[str],
    prefixes: tuple[str, str],
    sources: tuple[tuple[str, ...], tuple[str, ...]],
) -> list[SyntheticRecord]:
    if n_clusters < 0:
        raise ValueError(f"n_clusters must be >= 0, got {n_clusters}")
    profile = profile if profile is not None else CorruptionProfile()
    rng = random.Random(f"intelgraph-demo:{entity_type}:{seed}")
    record_prefix, cluster_prefix = prefixes
    original_sources, duplicate_sources = sources
    used: set[str] = set()
    drafts: list[tuple[str, dict[str, str], str, tuple[str, ...]]] = []
    for index in range(n_clusters):
        cluster_id = f"{cluster_prefix}{index + 1:06d}"
        canonical = make(rng, used)
        source = rng.choice(original_sources)
        drafts.append((cluster_id, canonical, source, ()))
        if rng.random() >= profile.duplicate_share:
            continue
        copies = rng.randint(1, profile.max_duplicates)
        pool = [other for other in duplicate_sources if other != source]
        dup_sources = (
            rng.sample(pool, copies) if copies <= len(pool) else rng.choices(pool, k=copies)
        )
        for dup_source in dup_sources:
            attrs, applied = _corrupt(canonical, entity_type, kinds, profile, rng)
            drafts.append((cluster_id, attrs, dup_source, applied))
    # Shuffle before numbering so a record id says nothing about its cluster.
    rng.shuffle(drafts)
    return [
        SyntheticRecord(
            record_id=f"{record_prefix}{number}",
            entity_type=entity_type,
            cluster_id=cluster_id,
            attributes=attrs,
            source=source,
            corruptions=applied,
        )
        for number, (cluster_id, attrs, source, applied) in enumerate(drafts, start=1)
    ]


def generate_people(
    n_clusters: int, seed: int, profile: CorruptionProfile | None = None
) -> list[SyntheticRecord]:
    """Records of ``n_clusters`` distinct people, with duplicates as ``profile`` says.

    Each person has one original record (no corruptions) and, for ``duplicate_share`` of
    them, 1..``max_duplicates`` corrupted copies from other sources sharing its
    ``cluster_id``. Records come shuffled with ids ``p1, p2…``; the same arguments always
    give the same records. Raises ValueError for a negative ``n_clusters``.
    """
    return _generate(
        "PERSON",
        n_clusters,
        seed,
        profile,
        _make_person,
        _PERSON_KINDS,
        ("p", "person-"),
        (_PERSON_SOURCES, _PERSON_DUPLICATE_SOURCES),
    )


def generate_organizations(
    n_clusters: int, seed: int, profile: CorruptionProfile | None = None
) -> list[SyntheticRecord]:
    """Records of ``n_clusters`` distinct organisations, with duplicates as ``profile`` says.

    Same contract as :func:`generate_people`; ids are ``o1, o2…`` and clusters ``org-…``.
    Raises ValueError for a negative ``n_clusters``.
    """
    return _generate(
        "ORGANIZATION",
        n_clusters,
        seed,
        profile,
        _make_organization,
        _ORG_KINDS,
        ("o", "org-"),
        (_ORG_SOURCES, _ORG_DUPLICATE_SOURCES),
    )


# ---------------------------------------------------------------------------------------
# The demo tenant
# ---------------------------------------------------------------------------------------


def _zipf_cum_weights(n: int, exponent: float) -> list[float]:
    return list(accumulate((rank + 1) ** -exponent for rank in range(n)))


def _confidence(rng: random.Random, base: float) -> float:
    return round(min(1.0, max(0.0, base + rng.uniform(-0.05, 0.05))), 2)


def _clusters(records: Sequence[SyntheticRecord]) -> list[list[SyntheticRecord]]:
    grouped: dict[str, list[SyntheticRecord]] = {}
    for record in records:
        grouped.setdefault(record.cluster_id, []).append(record)
    # Original first, then its duplicates; clusters in id order.
    return [
        sorted(grouped[cluster], key=lambda r: (r.is_duplicate, int(r.record_id[1:])))
        for cluster in sorted(grouped)
    ]


def _pick_record(rng: random.Random, cluster: Sequence[SyntheticRecord]) -> str:
    """Which of a real entity's records a link is recorded against: mostly the original."""
    if len(cluster) == 1 or rng.random() < 0.6:
        return cluster[0].record_id
    return rng.choice(cluster[1:]).record_id


def _account_attributes(rng: random.Random, country_code: str, kind: str) -> dict[str, str]:
    country = _COUNTRIES.get(country_code, _COUNTRIES["GB"])
    opened = f"{rng.randrange(2005, 2025)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if kind == "crypto_wallet":
        number = "bc1q" + "".join(rng.choice("023456789acdefghjklmnpqrstuvwxyz") for _ in range(38))
        return {
            "account_number": number,
            "account_type": kind,
            "bank": rng.choice(_EXCHANGES),
            "currency": "BTC",
            "opened": opened,
            "country": country.code,
        }
    if country.code in ("US", "CA", "AU", "SG", "JP", "IN"):
        number = "".join(str(rng.randrange(10)) for _ in range(rng.choice((10, 11, 12))))
    else:
        bban = "".join(chr(65 + rng.randrange(26)) for _ in range(4))
        bban += "".join(str(rng.randrange(10)) for _ in range(14))
        number = country.code + _mod97_check(bban + country.code) + bban
    return {
        "account_number": number,
        "account_type": kind,
        "bank": rng.choice(_BANKS),
        "currency": country.currency,
        "opened": opened,
        "country": country.code,
    }


def _device_attributes(rng: random.Random) -> dict[str, str]:
    device_type, manufacturer, model, os_name = rng.choice(_DEVICE_MODELS)
    mac = [rng.randrange(256) for _ in range(6)]
    mac[0] = (mac[0] | 0x02) & 0xFE  # locally administered, unicast: never a real vendor
    attrs = {
        "device_type": device_type,
        "manufacturer": manufacturer,
        "model": model,
        "os": os_name,
        "mac_address": ":".join(f"{octet:02x}" for octet in mac),
    }
    if device_type == "mobile":
        body = "35" + "".join(str(rng.randrange(10)) for _ in range(12))
        attrs["imei"] = body + _luhn_digit(body)
    else:
        attrs["serial_number"] = _fill("@@#*#*#*#*", rng)
    return attrs


def _account_label(attrs: dict[str, str]) -> str:
    return f"{attrs['bank']} {attrs['account_type']} …{attrs['account_number'][-4:]}"


def _device_label(attrs: dict[str, str]) -> str:
    tail = attrs.get("imei", attrs.get("serial_number", ""))[-4:]
    return f"{attrs['manufacturer']} {attrs['model']} …{tail}"


def _location_attributes(
    rng: random.Random, name: str, kind: str, address: dict[str, str], city: _City
) -> dict[str, str]:
    return {
        "name": name,
        "location_type": kind,
        **address,
        "latitude": f"{city.lat + rng.uniform(-0.05, 0.05):.5f}",
        "longitude": f"{city.lon + rng.uniform(-0.05, 0.05):.5f}",
    }


def demo_ingest_lines(
    seed: int = 7, people: int = 1500, organizations: int = 300
) -> Iterator[dict[str, Any]]:
    """Ingest lines for a demo tenant: every entity line first, then every relationship.

    ``people`` and ``organizations`` count real-world entities; about a fifth of them also
    appear as corrupted duplicates from other sources (separate entities, for resolution to
    find). Around them: accounts, devices, sites and points of interest, linked by
    WORKS_FOR, MANAGES, REPORTS_TO, MEMBER_OF, OWNS, ACCESSED, LOCATED_AT,
    COMMUNICATES_WITH, TRANSACTED_WITH, SUBSIDIARY_OF, PARTNER_OF and COMPETITOR_OF, with
    a few hubs (big employers, nominee directors, exchanges, shared devices). External ids
    are unique, every relationship endpoint is an entity line, no (from, type, to) repeats,
    attribute values are strings. The defaults give about 6,200 entities and 11,400
    relationships; the same arguments always give the same lines. Raises ValueError for
    negative counts.
    """
    if people < 0 or organizations < 0:
        raise ValueError("people and organizations must be >= 0")
    tenant = _DemoTenant(seed, people, organizations)
    tenant.add_people_and_organizations()
    tenant.add_sites()
    tenant.add_employment()
    tenant.add_corporate_structure()
    tenant.add_accounts_and_devices()
    tenant.add_communications_and_payments()
    yield from tenant.entities
    yield from tenant.relationships


class _DemoTenant:
    """The demo graph under construction: lines so far, plus who is popular.

    Popularity is a Zipf order over real-world entities (rank 0 is the biggest employer,
    the most talkative person): drawing link ends from it gives the skewed degrees.
    Links to a person or organisation land on one of its records, mostly the original.
    """

    def __init__(self, seed: int, people: int, organizations: int) -> None:
        self.rng = random.Random(f"intelgraph-demo:graph:{seed}")
        self.entities: list[dict[str, Any]] = []
        self.relationships: list[dict[str, Any]] = []
        self._edges: set[tuple[str, str, str]] = set()
        self._counters: dict[str, int] = {}
        self.people = _clusters(generate_people(people, seed))
        self.orgs = _clusters(generate_organizations(organizations, seed))
        self.org_order = self._shuffled(len(self.orgs))
        self.org_weights = _zipf_cum_weights(len(self.orgs), 1.0)
        self.person_order = self._shuffled(len(self.people))
        self.person_weights = _zipf_cum_weights(len(self.people), 0.8)
        self.employees: dict[int, list[int]] = {}
        self.accounts_of: dict[int, list[str]] = {}
        self.accounts: list[str] = []
        self.hub_accounts: list[str] = []

    # -- plumbing ------------------------------------------------------------------------

    def _shuffled(self, n: int) -> list[int]:
        order = list(range(n))
        self.rng.shuffle(order)
        return order

    def _next_id(self, prefix: str) -> str:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}{self._counters[prefix]}"

    def entity(
        self,
        external_id: str,
        entity_type: str,
        label: str,
        attributes: dict[str, str],
        source: str,
    ) -> str:
        self.entities.append(
            {
                "kind": "entity",
                "external_id": external_id,
                "type": entity_type,
                "label": label,
                "attributes": attributes,
                "source": source,
                "confidence": _confidence(self.rng, _SOURCE_CONFIDENCE[source]),
                "purposes": list(_PURPOSES),
            }
        )
        return external_id

    def relate(
        self, rel_type: str, from_id: str, to_id: str, base: float, *, symmetric: bool = False
    ) -> None:
        """Add a link unless it is a self-loop or already there (either way if symmetric)."""
        key = (from_id, rel_type, to_id)
        if from_id == to_id or key in self._edges:
            return
        if symmetric and (to_id, rel_type, from_id) in self._edges:
            return
        self._edges.add(key)
        self.relationships.append(
            {
                "kind": "relationship",
                "type": rel_type,
                "from": from_id,
                "to": to_id,
                "confidence": _confidence(self.rng, base),
            }
        )

    def some_org(self) -> int:
        pick = self.rng.choices(range(len(self.orgs)), cum_weights=self.org_weights)[0]
        return self.org_order[pick]

    def some_person(self) -> int:
        pick = self.rng.choices(range(len(self.people)), cum_weights=self.person_weights)[0]
        return self.person_order[pick]

    def org_ref(self, index: int) -> str:
        return _pick_record(self.rng, self.orgs[index])

    def person_ref(self, index: int) -> str:
        return _pick_record(self.rng, self.people[index])

    def location(self, name: str, kind: str, address: dict[str, str], source: str) -> str:
        city = _CITY_BY_NAME[address["city"]]
        attributes = _location_attributes(self.rng, name, kind, address, city)
        return self.entity(self._next_id("l"), "LOCATION", name, attributes, source)

    def account(self, attributes: dict[str, str], source: str) -> str:
        label = _account_label(attributes)
        account = self.entity(self._next_id("a"), "ACCOUNT", label, attributes, source)
        self.accounts.append(account)
        return account

    def device(self) -> str:
        attributes = _device_attributes(self.rng)
        label = _device_label(attributes)
        return self.entity(self._next_id("d"), "DEVICE", label, attributes, "telecom")

    # -- the graph, part by part -------------------------------------------------------

    def add_people_and_organizations(self) -> None:
        for clusters, entity_type, label_key in (
            (self.people, "PERSON", "full_name"),
            (self.orgs, "ORGANIZATION", "name"),
        ):
            for cluster in clusters:
                for record in cluster:
                    label = record.attributes.get(label_key, "").strip() or record.record_id
                    self.entity(
                        record.record_id, entity_type, label, record.attributes, record.source
                    )

    def add_sites(self) -> None:
        """Every organisation's registered office; more sites for the biggest tenth."""
        rng = self.rng
        big = max(1, len(self.orgs) // 10)
        for rank, index in enumerate(self.org_order):
            canonical = self.orgs[index][0].attributes
            address = {key: canonical[key] for key in _ADDRESS_KEYS}
            office = self.location(
                f"{canonical['name']} registered office", "office", address, "registry"
            )
            self.relate("LOCATED_AT", self.org_ref(index), office, 0.95)
            for _ in range(rng.randint(1, 4) if rank < big else 0):
                city = rng.choice(CITIES)
                kind = rng.choice(("office", "warehouse", "branch", "factory"))
                name = f"{canonical['name']} {city.name} {kind}"
                site = self.location(
                    name, kind, _address(rng, city), rng.choice(("registry", "osint"))
                )
                self.relate("LOCATED_AT", self.org_ref(index), site, 0.85)
        # Points of interest: a few airports and hotels many people are seen at.
        if not self.people:
            return
        pois = []
        for _ in range(max(5, (len(self.people) + len(self.orgs)) // 70)):
            city = rng.choice(CITIES)
            kind = rng.choice(_POI_KINDS)
            name = f"{city.name} {rng.choice(ORG_STEMS)} {kind}"
            pois.append(self.location(name, kind, _address(rng, city), "osint"))
        weights = _zipf_cum_weights(len(pois), 1.2)
        for person in range(len(self.people)):
            if rng.random() < 0.15:
                poi = rng.choices(pois, cum_weights=weights)[0]
                self.relate("LOCATED_AT", self.person_ref(person), poi, 0.6)

    def add_employment(self) -> None:
        """WORKS_FOR (Zipf employers), REPORTS_TO trees, directors, association members."""
        rng = self.rng
        if not self.orgs:
            return
        for person in range(len(self.people)):
            if rng.random() < 0.85:
                employer = self.some_org()
                self.employees.setdefault(employer, []).append(person)
                self.relate("WORKS_FOR", self.person_ref(person), self.org_ref(employer), 0.85)
        for staff in self.employees.values():
            for position, person in enumerate(staff[1:], start=1):
                if rng.random() < 0.5:
                    boss = staff[rng.randrange(max(1, position // 4))]
                    self.relate("REPORTS_TO", self.person_ref(person), self.person_ref(boss), 0.75)
        # A few nominee directors sit on many boards: the classic hub.
        nominees = [self.some_person() for _ in range(min(15, len(self.people)))]
        for index in range(len(self.orgs)):
            staff = self.employees.get(index, [])
            for _ in range(rng.randint(1, 2)):
                if staff and rng.random() < 0.7:
                    director = staff[0] if rng.random() < 0.6 else rng.choice(staff)
                elif nominees:
                    director = rng.choice(nominees[: rng.randint(1, len(nominees))])
                else:
                    continue
                self.relate("MANAGES", self.person_ref(director), self.org_ref(index), 0.9)
        if not self.people:
            return
        associations = rng.sample(range(len(self.orgs)), min(10, len(self.orgs)))
        weights = _zipf_cum_weights(len(associations), 1.0)
        for person in range(len(self.people)):
            if rng.random() < 0.15:
                club = rng.choices(associations, cum_weights=weights)[0]
                self.relate("MEMBER_OF", self.person_ref(person), self.org_ref(club), 0.7)

    def add_corporate_structure(self) -> None:
        """SUBSIDIARY_OF towards more popular parents (so no cycles), partners, rivals."""
        rng = self.rng
        for rank, index in enumerate(self.org_order):
            if rank > 0 and rng.random() < 0.3:
                pick = rng.choices(range(rank), cum_weights=self.org_weights[:rank])[0]
                parent = self.org_order[pick]
                self.relate("SUBSIDIARY_OF", self.org_ref(index), self.org_ref(parent), 0.9)
        if not self.orgs:
            return
        for rel_type, count, base in (
            ("PARTNER_OF", len(self.orgs) * 3 // 10, 0.7),
            ("COMPETITOR_OF", len(self.orgs) // 5, 0.6),
        ):
            for _ in range(count):
                first, second = self.org_ref(self.some_org()), self.org_ref(self.some_org())
                self.relate(rel_type, first, second, base, symmetric=True)

    def add_accounts_and_devices(self) -> None:
        """OWNS accounts and devices, ACCESSED from owners' devices and a few shared ones."""
        rng = self.rng
        for index, cluster in enumerate(self.orgs):
            country = cluster[0].attributes["country"]
            for _ in range(rng.randint(1, 2)):
                attributes = _account_attributes(rng, country, "business")
                account = self.account(attributes, rng.choice(("bank", "kyc")))
                self.relate("OWNS", self.org_ref(index), account, 0.95)
        if self.orgs:
            for exchange in _EXCHANGES:
                for _ in range(3):
                    attributes = _account_attributes(rng, "GB", "exchange_omnibus")
                    account = self.account({**attributes, "bank": exchange}, "osint")
                    self.relate("OWNS", self.org_ref(self.some_org()), account, 0.6)
                    self.hub_accounts.append(account)
        for person, cluster in enumerate(self.people):
            country = cluster[0].attributes["country"]
            for _ in range(rng.choices((0, 1, 2, 3), weights=(25, 50, 18, 7))[0]):
                kind = rng.choices(("current", "savings", "crypto_wallet"), weights=(70, 22, 8))[0]
                account = self.account(
                    _account_attributes(rng, country, kind), rng.choice(("bank", "kyc"))
                )
                self.relate("OWNS", self.person_ref(person), account, 0.9)
                self.accounts_of.setdefault(person, []).append(account)
                if rng.random() < 0.04:  # a joint account
                    self.relate("OWNS", self.person_ref(self.some_person()), account, 0.8)
        for person in range(len(self.people)):
            for _ in range(rng.choices((0, 1, 2), weights=(30, 55, 15))[0]):
                device = self.device()
                self.relate("OWNS", self.person_ref(person), device, 0.8)
                for account in self.accounts_of.get(person, []):
                    if rng.random() < 0.6:
                        self.relate("ACCESSED", device, account, 0.8)
        for _ in range(min(8, len(self.accounts))):
            device = self.device()
            for account in rng.sample(self.accounts, min(len(self.accounts), rng.randint(10, 40))):
                self.relate("ACCESSED", device, account, 0.7)

    def add_communications_and_payments(self) -> None:
        """COMMUNICATES_WITH among colleagues and popular people; TRANSACTED_WITH, Zipf."""
        rng = self.rng
        for staff in self.employees.values():
            if len(staff) < 2:
                continue
            for person in staff:
                if rng.random() < 0.3:
                    first, second = self.person_ref(person), self.person_ref(rng.choice(staff))
                    self.relate("COMMUNICATES_WITH", first, second, 0.8, symmetric=True)
        if self.people:
            for _ in range(len(self.people)):
                first = self.person_ref(self.some_person())
                second = self.person_ref(self.some_person())
                self.relate("COMMUNICATES_WITH", first, second, 0.7, symmetric=True)
        if len(self.accounts) < 2:
            return
        order = list(self.accounts)
        rng.shuffle(order)
        weights = _zipf_cum_weights(len(order), 0.7)
        for _ in range(len(order)):
            first = rng.choices(order, cum_weights=weights)[0]
            if self.hub_accounts and rng.random() < 0.3:
                second = rng.choice(self.hub_accounts)
            else:
                second = rng.choices(order, cum_weights=weights)[0]
            self.relate("TRANSACTED_WITH", first, second, 0.85, symmetric=True)


# ---------------------------------------------------------------------------------------
# Benchmark generators
# ---------------------------------------------------------------------------------------

_BULK_CHUNK = 4096


def bulk_entity_lines(n: int, seed: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """``n`` simple PERSON entity lines with external ids ``bulk-{start}…bulk-{start+n-1}``.

    Built for ingest benchmarks: cheap (well over 200,000 lines/s), deterministic for
    ``(n, seed, start)``, ids unique across calls with non-overlapping ranges.
    """
    rng = random.Random(f"intelgraph-demo:bulk:{seed}:{start}")
    cities = [(city.name, city.country) for city in CITIES]
    end = start + max(0, n)
    for chunk_start in range(start, end, _BULK_CHUNK):
        size = min(_BULK_CHUNK, end - chunk_start)
        givens = rng.choices(GIVEN_NAMES, k=size)
        surnames = rng.choices(SURNAMES, k=size)
        places = rng.choices(cities, k=size)
        for number, given, surname, (city, country) in zip(
            range(chunk_start, chunk_start + size), givens, surnames, places, strict=True
        ):
            full_name = f"{given} {surname}"
            yield {
                "kind": "entity",
                "external_id": f"bulk-{number}",
                "type": "PERSON",
                "label": full_name,
                "attributes": {
                    "given_name": given,
                    "surname": surname,
                    "full_name": full_name,
                    "city": city,
                    "country": country,
                },
                "source": "crm",
                "confidence": 0.9,
                "purposes": ["investigation"],
            }


_UINT32: Literal["I", "L"] = "I" if array("I").itemsize == 4 else "L"


def _power_law_table(n_nodes: int, exponent: float, rng: random.Random) -> list[int]:
    """A lookup table of 2**k node ids in which node shares follow a Zipf law.

    Every node gets at least one slot; a uniform slot then picks a node in proportion to
    its weight, so degrees follow a power law with tail ``exponent`` (Chung-Lu style).
    """
    # ~8 slots per node (at most 4M slots) keeps the Zipf shape; never fewer than 2 a node.
    size = 1 << max(12, min(22, (8 * n_nodes - 1).bit_length()))
    while size < 2 * n_nodes:
        size <<= 1
    alpha = 1.0 / (exponent - 1.0)
    weights = [(rank + 1) ** -alpha for rank in range(n_nodes)]
    scale = (size - n_nodes) / sum(weights)
    # Cumulative rounding: node r's slots end at r + 1 + round(W_r * scale), so the counts
    # add up to the table size and no node gains more than half a slot from rounding.
    ends = [
        rank + round(cumulative * scale)
        for rank, cumulative in enumerate(accumulate(weights), start=1)
    ]
    counts = map(sub, ends, [0, *ends[:-1]])
    nodes = list(range(n_nodes))
    rng.shuffle(nodes)  # hubs anywhere in the id range, not just at 0, 1, 2…
    table = list(chain.from_iterable(map(repeat, nodes, counts)))
    table.extend(repeat(nodes[0], size - len(table)))  # float residue: a slot at most
    del table[size:]
    return table


def _draw(
    table: list[int], count: int, rng: random.Random, relabel: list[int] | None = None
) -> list[int]:
    """``count`` nodes drawn from ``table`` (then renamed through ``relabel``), all in C."""
    raw = array(_UINT32, rng.randbytes(4 * count))
    if sys.byteorder == "big":
        raw.byteswap()  # randbytes is little-endian; keep draws identical on every machine
    shift = 32 - (len(table).bit_length() - 1)
    drawn = map(table.__getitem__, map(rshift, raw, repeat(shift)))
    return list(drawn if relabel is None else map(relabel.__getitem__, drawn))


def random_graph_edges(
    n_nodes: int, n_edges: int, seed: int, *, exponent: float = 2.4
) -> list[tuple[int, int]]:
    """``n_edges`` directed edges over nodes ``0..n_nodes-1`` with power-law degrees.

    Endpoints are drawn in proportion to Zipf weights (a static, preferential-attachment-
    like model), with different hubs for in- and out-degree; the degree tail follows
    ``exponent``. Self-loops and repeated pairs can occur, as in real relationship data.
    Deterministic for the arguments; about a second for 10^6 edges. Raises ValueError
    for negative sizes, edges without nodes, or ``exponent <= 1``.
    """
    if n_nodes < 0 or n_edges < 0:
        raise ValueError("n_nodes and n_edges must be >= 0")
    if exponent <= 1.0:
        raise ValueError(f"exponent must be > 1, got {exponent}")
    if n_edges == 0:
        return []
    if n_nodes == 0:
        raise ValueError("edges need at least one node")
    rng = random.Random(f"intelgraph-demo:edges:{seed}")
    table = _power_law_table(n_nodes, exponent, rng)
    relabel = list(range(n_nodes))
    rng.shuffle(relabel)  # out-degree hubs differ from in-degree hubs
    targets = _draw(table, n_edges, rng)
    sources = _draw(table, n_edges, rng, relabel)
    return list(zip(sources, targets, strict=True))
