"""Indonesian personal names by region, and the ways sources write them differently.

Naming follows ``shared/reference/domain.md`` section 4: Javanese single and double
names with birth-order prefixes, Sundanese markers, Balinese gender prefix + birth-order
name, Batak marga shared by a father and his children (``br.`` for women), Minang and
Bugis patterns (Andi, Dt.), Muslim names with Muhammad written in its observed
variants, Christian names in the east. True names are what Dukcapil registered; the
registries then write them with titles, abbreviations, old spellings, typos and
dropped or swapped words.
"""

from __future__ import annotations

import numpy as np

from delivery.synthetic.reference import load_names

# Share of families by naming group, per BPS province code (rest of the country: default).
_GROUP_MIX: dict[str, dict[str, float]] = {
    "11": {"muslim": 1.0},
    "12": {"batak": 0.5, "muslim": 0.4, "jawa": 0.1},
    "13": {"minang": 0.9, "muslim": 0.1},
    "31": {"muslim": 0.45, "jawa": 0.3, "sunda": 0.15, "batak": 0.05, "kristen": 0.05},
    "32": {"sunda": 0.75, "jawa": 0.1, "muslim": 0.15},
    "33": {"jawa": 0.85, "muslim": 0.15},
    "34": {"jawa": 0.85, "muslim": 0.15},
    "35": {"jawa": 0.8, "muslim": 0.2},
    "36": {"sunda": 0.5, "muslim": 0.35, "jawa": 0.15},
    "51": {"bali": 0.85, "jawa": 0.1, "muslim": 0.05},
    "52": {"muslim": 0.9, "bali": 0.1},
    "53": {"kristen": 0.85, "muslim": 0.15},
    "61": {"muslim": 0.5, "kristen": 0.3, "jawa": 0.2},
    "71": {"kristen": 0.7, "muslim": 0.3},
    "73": {"bugis": 0.75, "muslim": 0.25},
    "76": {"bugis": 0.6, "muslim": 0.4},
    "81": {"kristen": 0.6, "muslim": 0.4},
    "91": {"kristen": 0.8, "muslim": 0.2},
    "92": {"kristen": 0.8, "muslim": 0.2},
    "94": {"kristen": 0.85, "muslim": 0.15},
    "95": {"kristen": 0.85, "muslim": 0.15},
    "96": {"kristen": 0.9, "muslim": 0.1},
    "97": {"kristen": 0.9, "muslim": 0.1},
}
_DEFAULT_MIX = {"muslim": 0.6, "jawa": 0.3, "kristen": 0.1}

_JAVANESE_SINGLE_M = [
    "SLAMET",
    "SUTRISNO",
    "BAMBANG",
    "JOKO",
    "SUGENG",
    "MULYADI",
    "SURYADI",
    "SUNARDI",
    "SIGIT",
    "YANTO",
    "SUPRIYADI",
    "SUPARMAN",
    "SUKARDI",
    "WAHYUDI",
    "TEGUH",
    "HERU",
    "BUDI",
    "EKO",
    "PURNOMO",
    "SUHARTO",
    "WIDODO",
    "SUWARNO",
    "PAIMAN",
]
_JAVANESE_SINGLE_F = [
    "SUMARNI",
    "SULASTRI",
    "ENDANG",
    "TUTI",
    "SUMIATI",
    "SUMIYATI",
    "SUNARSIH",
    "ENDAH",
    "RETNO",
    "PUJI",
    "SRI",
    "KARTINI",
    "MARYATI",
    "WARSIH",
    "SUPARMI",
    "TUMINAH",
    "PARTINI",
    "SUKINEM",
]
_SUNDA_M = ["ASEP", "UJANG", "CECEP", "DEDE", "AAN", "OMAN", "DADANG", "ENDANG", "YAYAT"]
_SUNDA_F = ["EUIS", "NENENG", "IIS", "ENTIN", "ENUNG", "IMAS", "CUCU", "YAYAH", "EEN"]
_CHRISTIAN_M = [
    "DANIEL",
    "DAVID",
    "SAMUEL",
    "YOHANES",
    "YOSEF",
    "PETRUS",
    "PAULUS",
    "MARKUS",
    "FRANSISKUS",
    "AGUSTINUS",
    "STEFANUS",
    "ANTONIUS",
    "YAKOBUS",
    "ALEXANDER",
    "HENDRIK",
    "YULIUS",
    "MATIUS",
    "LUKAS",
]
_CHRISTIAN_F = [
    "MARIA",
    "ELISABETH",
    "MAGDALENA",
    "YOHANA",
    "THERESIA",
    "JULIANA",
    "AGUSTINA",
    "YULIANA",
    "MARTHA",
    "KRISTINA",
    "FRANSISKA",
    "VERONIKA",
]
_EAST_FAMILY = [
    "RUMONDOR",
    "LUMINTANG",
    "WAROUW",
    "TANOTO",
    "NDOEN",
    "LAKA",
    "SERAN",
    "BEREK",
    "MANAFE",
    "TUALAKA",
    "WENDA",
    "KOGOYA",
    "WAKERKWA",
    "RUMBIAK",
    "MAYOR",
    "PATTY",
    "TUPAMAHU",
    "LATUPEIRISSA",
]
_MUHAMMAD = "MUHAMMAD"


class NameBook:
    """Name lists, upper-cased once, with the Muhammad variant frequencies."""

    def __init__(self) -> None:
        raw = load_names()
        self.male = [n.upper() for n in raw["male_given"]]
        self.female = [n.upper() for n in raw["female_given"]]
        parts = [n.upper() for n in raw["name_parts"]]
        self.marga = parts[parts.index("SIREGAR") :]
        self.parts = parts[: parts.index("SIREGAR")]
        self.titles_back = ["S.PD.", "S.E.", "S.H.", "S.AG.", "A.MD.", "M.PD.", "S.KOM."]
        variants = raw["muhammad_variants_observed"]
        # Abbreviations are written with a full stop: M., MOH., MOCH., MUH.
        self.muhammad_forms = [v if len(v) > 4 else f"{v}." for v in variants]
        weights = np.array(list(variants.values()), dtype=float)
        self.muhammad_weights = weights / weights.sum()
        self.spelling_pairs = [
            (new.upper(), old.upper())
            for old, new in (tuple(p) for p in raw["spelling_variants"])
            if len(old) > 2 and "." not in old and new.upper() != _MUHAMMAD
        ]
        self.birth_order = [o for o in raw["balinese_birth_order"].values() if isinstance(o, list)]
        self.javanese_order = [o.upper() for o in raw["unisex_birth_order_javanese"]]


def family_groups(rng: np.random.Generator, prov_codes: np.ndarray) -> np.ndarray:
    """Naming group of each family, drawn from its province's mix."""
    out = np.empty(len(prov_codes), dtype=object)
    for code in np.unique(prov_codes):
        mix = _GROUP_MIX.get(code, _DEFAULT_MIX)
        idx = np.flatnonzero(prov_codes == code)
        out[idx] = rng.choice(list(mix), size=len(idx), p=np.array(list(mix.values())))
    return out


def _pick(rng: np.random.Generator, options: list[str] | tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def person_name(
    rng: np.random.Generator,
    book: NameBook,
    group: str,
    male: bool,
    child_order: int,
    family_name: str,
) -> str:
    """One registered (Dukcapil) full name, upper case.

    Args:
        child_order: 1-based birth order among siblings (Balinese names encode it).
        family_name: the family's marga or eastern family name, shared by the father
            and his children; empty for groups without family names.
    """
    given = _pick(rng, book.male if male else book.female)
    u = rng.random()
    if group == "jawa":
        if u < 0.45:
            return _pick(rng, _JAVANESE_SINGLE_M if male else _JAVANESE_SINGLE_F)
        if u < 0.6:
            return f"{_pick(rng, book.javanese_order)} {_pick(rng, book.parts)}"
        return f"{given} {_pick(rng, book.parts)}"
    if group == "sunda":
        if u < 0.4:
            marker = _pick(rng, _SUNDA_M if male else _SUNDA_F)
            return marker if rng.random() < 0.4 else f"{marker} {_pick(rng, book.parts)}"
        return f"{given} {_pick(rng, book.parts)}"
    if group == "bali":
        order = book.birth_order[(child_order - 1) % 4]
        prefix = "I" if male else "NI"
        if rng.random() < 0.08:
            prefix = "IDA BAGUS" if male else "IDA AYU"
        elif rng.random() < 0.06:
            prefix = "ANAK AGUNG" if male else "ANAK AGUNG AYU"
        return f"{prefix} {_pick(rng, order).upper()} {_pick(rng, book.parts)}"
    if group == "batak":
        first = _pick(rng, _CHRISTIAN_M if male else _CHRISTIAN_F) if u < 0.5 else given
        if not male and rng.random() < 0.3:
            return f"{first} BR {family_name}"
        return f"{first} {family_name}"
    if group == "minang":
        name = f"{given} {_pick(rng, book.parts)}"
        return f"{name} DT. {_pick(rng, book.parts)}" if male and rng.random() < 0.05 else name
    if group == "bugis":
        name = f"{given} {_pick(rng, book.parts)}" if u < 0.7 else given
        return f"ANDI {name}" if rng.random() < 0.12 else name
    if group == "kristen":
        first = _pick(rng, _CHRISTIAN_M if male else _CHRISTIAN_F)
        return f"{first} {family_name}" if family_name else f"{first} {_pick(rng, book.parts)}"
    # General Muslim naming.
    if male and u < 0.22:
        form = book.muhammad_forms[
            int(rng.choice(len(book.muhammad_forms), p=book.muhammad_weights))
        ]
        return f"{form} {_pick(rng, book.male)}"
    if not male and u < 0.3:
        return f"{_pick(rng, ['SITI', 'NUR', 'SRI'])} {_pick(rng, book.female)}"
    return given if u > 0.85 else f"{given} {_pick(rng, book.parts)}"


def family_name_for(rng: np.random.Generator, book: NameBook, group: str) -> str:
    if group == "batak":
        return _pick(rng, book.marga)
    if group == "kristen" and rng.random() < 0.6:
        return _pick(rng, _EAST_FAMILY)
    return ""


# --------------------------------------------------------------------------- source dirt


def _typo(rng: np.random.Generator, name: str) -> str:
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    if len(letters) < 3:
        return name
    i = letters[int(rng.integers(1, len(letters)))]
    kind = rng.integers(3)
    if kind == 0:  # substitution
        return name[:i] + "AEIOUNRSTKL"[int(rng.integers(11))] + name[i + 1 :]
    if kind == 1:  # deletion
        return name[:i] + name[i + 1 :]
    j = i - 1  # transposition with the previous letter
    return name[:j] + name[i] + name[j] + name[i + 1 :] if name[j].isalpha() else name


def _old_spelling(rng: np.random.Generator, book: NameBook, name: str) -> str:
    for new, old in book.spelling_pairs:
        if new in name.split():
            return " ".join(old if t == new else t for t in name.split())
    for new, old in (("U", "OE"), ("J", "DJ"), ("C", "TJ"), ("Y", "J"), ("KH", "CH")):
        if new in name[1:]:
            i = name.index(new, 1)
            return name[:i] + old + name[i + len(new) :]
    return name


def _muhammad_variant(rng: np.random.Generator, book: NameBook, name: str) -> str:
    tokens = name.split()
    forms = set(book.muhammad_forms) | {_MUHAMMAD}
    if not tokens or tokens[0] not in forms:
        return name
    other = [f for f in book.muhammad_forms if f != tokens[0]]
    return " ".join([_pick(rng, other), *tokens[1:]])


def write_name(
    rng: np.random.Generator, book: NameBook, name: str, dirt: dict[str, float], male: bool
) -> str:
    """How one registry writes a registered name: each kind of dirt at its configured rate."""
    tokens = name.split()
    if len(tokens) >= 3 and rng.random() < dirt["name_token_missing"]:
        tokens = tokens[:-1]
    if len(tokens) >= 2 and rng.random() < dirt["name_token_swap"]:
        tokens = [*tokens[1:], tokens[0]]
    out = " ".join(tokens)
    if rng.random() < dirt["name_muhammad_variant"]:
        out = _muhammad_variant(rng, book, out)
    if rng.random() < dirt["name_old_spelling"]:
        out = _old_spelling(rng, book, out)
    if rng.random() < dirt["name_typo"]:
        out = _typo(rng, out)
    if rng.random() < dirt["name_title"]:
        if rng.random() < 0.6:
            front = _pick(
                rng, ["H.", "DRS.", "IR.", "BPK."] if male else ["HJ.", "DRA.", "NY.", "IBU"]
            )
            out = f"{front} {out}"
        else:
            out = f"{out}, {_pick(rng, book.titles_back)}"
    return out
