"""Common English given-name diminutives, so "bob" and "robert" compare as the same name.

The table maps a formal name to its usual short forms. A name's *root* is the formal name it
is a short form of, or itself; two given names agree on the nickname level when their roots
are equal. Ambiguous short forms (e.g. "alex") map to the first formal name listed.
"""

from __future__ import annotations

from collections.abc import Mapping

_FORMS: Mapping[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "alexander": ("alex", "alec", "sandy", "xander", "lex"),
    "alexandra": ("alexa", "sandra", "lexi", "alexis"),
    "alfred": ("alf", "alfie", "fred"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant"),
    "barbara": ("barb", "babs"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cathy", "kate", "katie", "cat", "kathy", "katherine", "kathryn", "kat"),
    "charles": ("charlie", "chuck", "chas"),
    "charlotte": ("lottie", "charlie"),
    "christina": ("chris", "tina", "christine", "kristina"),
    "christopher": ("chris", "kit", "topher"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("deb", "debbie", "debra"),
    "dominic": ("dom", "nic"),
    "donald": ("don", "donnie"),
    "dorothy": ("dot", "dottie", "dolly"),
    "edward": ("ed", "eddie", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "bess", "elise"),
    "emily": ("em", "emmy", "millie"),
    "frederick": ("fred", "freddie", "freddy"),
    "gabriel": ("gabe",),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("hank", "harry", "hal"),
    "isabella": ("bella", "izzy", "isabelle", "isabel"),
    "jacob": ("jake", "jack"),
    "james": ("jim", "jimmy", "jamie", "jimbo"),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "john": ("johnny", "jack", "jon"),
    "jonathan": ("jon", "jonny", "nathan"),
    "joseph": ("joe", "joey", "jo"),
    "joshua": ("josh",),
    "katherine": ("kate", "katie", "kathy", "kat"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie"),
    "leonard": ("leo", "len", "lenny"),
    "margaret": ("maggie", "meg", "peggy", "marge", "madge", "greta", "peg"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "mikey", "mickey"),
    "natalie": ("nat", "tali"),
    "nicholas": ("nick", "nicky", "nico"),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "philip": ("phil", "pip"),
    "rebecca": ("becky", "becca", "bec"),
    "richard": ("rick", "ricky", "dick", "rich", "richie"),
    "robert": ("rob", "bob", "bobby", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sam", "sammy"),
    "stephen": ("steve", "stevie", "steven"),
    "susan": ("sue", "susie", "suzy"),
    "theodore": ("theo", "ted", "teddy"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori", "vic"),
    "william": ("will", "bill", "billy", "willy", "liam"),
    "zachary": ("zach", "zack"),
}


def _roots() -> dict[str, str]:
    roots: dict[str, str] = {}
    for formal, forms in _FORMS.items():
        roots.setdefault(formal, formal)
        for form in forms:
            roots.setdefault(form, formal)
    return roots


NICKNAME_ROOTS: Mapping[str, str] = _roots()


def nickname_root(given_name: str) -> str:
    """The formal name ``given_name`` is a short form of, or ``given_name`` itself."""
    return NICKNAME_ROOTS.get(given_name, given_name)
