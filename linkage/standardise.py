"""Standardisers for Indonesian names, birth dates and addresses.

Column-in, column-out helpers built only from Spark built-ins (no Python UDFs: they run
on every record of every source, hundreds of millions of rows). Rules follow
``shared/reference/domain.md`` sections 4 (names) and 5 (addresses).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Tokens stripped from the front of a name: pilgrimage, academic and address titles,
# nobility and ranks. Not ANDI, I, NI, BIN, BINTI, BR: those are part of names.
FRONT_TITLES = (
    "H HJ HAJI HAJJAH KH UST USTADZ USTADZAH DRS DRA DR DRG DRH IR PROF NY NYONYA TN "
    "TUAN SDR SDRI BPK BAPAK IBU ALM ALMH ALMARHUM ALMARHUMAH R RA RM RR RADEN TGK "
    "TEUNGKU AIPTU AIPDA BRIPKA BRIGPOL BRIPDA AKBP AKP KOMPOL SERKA SERMA SERTU KOPDA "
    "PRATU LETKOL KAPTEN MAYOR KOL"
).split()
# Academic degrees written after a name without a comma (after a comma all is dropped).
DEGREES = (
    "SPD SPDI SE SH SAG SKOM SSOS SIP SKEP SKM SFARM SPSI SHUT SSI SAK SKES AMD AMAPD "
    "MPD MSI MM MH MKES MKOM MAG MHUM LC PHD MBA SPPD SPOG APT"
).split()
# Abbreviations and variants of whole tokens -> canonical token.
TOKEN_MAP = {
    **dict.fromkeys(
        (
            "M MHD MOH MOCH MOCHAMAD MOCHAMMAD MOHAMAD "
            "MOHAMMAD MOHAMMED MUH MUHAMAD MUHAMMED MUCHAMAD MUCHAMMAD"
        ).split(),
        "MUHAMMAD",
    ),
    "ABD": "ABDUL",
    "AHM": "AHMAD",
    "AHMD": "AHMAD",
    "ACHMAD": "AHMAD",
    "AKHMAD": "AHMAD",
    "WY": "WAYAN",
    "WYN": "WAYAN",
    "MD": "MADE",
    "NYMN": "NYOMAN",
    "KTT": "KETUT",
    "GST": "GUSTI",
    "DG": "DAENG",
    "NGR": "NGURAH",
    "NGH": "NGURAH",
    "BT": "BINTI",
    "BORU": "BR",
}
# Ejaan lama -> EYD (the 1947 and 1972 reforms), applied inside tokens.
OLD_SPELLING = (("OE", "U"), ("DJ", "J"), ("TJ", "C"), ("SJ", "SY"), ("NJ", "NY"), ("CH", "KH"))
# Phonetic folding, applied in order to modern-spelling tokens: sounds Indonesian
# spellings write several ways (KH/H, J/Y, F/P/V, Z/S, doubled letters, diphthongs).
PHONETIC = (
    (r"Y$", "I"),
    (r"([^AEIOU])Y([^AEIOU])", "$1I$2"),
    ("KH", "H"),
    ("SY", "S"),
    ("DH", "D"),
    ("TH", "T"),
    ("PH", "F"),
    ("V", "F"),
    ("Q", "K"),
    ("X", "KS"),
    ("Z", "S"),
    ("Y", "J"),
    ("AE", "AI"),
    ("IE", "I"),
    ("OU", "U"),
    (r"(.)\1+", "$1"),
    (r"([AEIOU])H$", "$1"),
)


def _literal_array(values: list[str] | tuple[str, ...]) -> Column:
    return F.array(*[F.lit(v) for v in values])


def _strip_leading(tokens: Column, drop: Column) -> Column:
    """Tokens from the first one not in ``drop`` on (all of them if every token is)."""
    start = F.array_position(F.transform(tokens, lambda t: F.array_contains(drop, t)), False)
    return F.when(start == 0, tokens).otherwise(F.slice(tokens, start, F.size(tokens)))


def _modern_spelling(token: Column) -> Column:
    for old, new in OLD_SPELLING:
        token = F.regexp_replace(token, old, new)
    return token


# Degrees written with dots at the end without a comma: ``M.SI``, ``S.PD.``, ``A.MD``.
_DOTTED_DEGREES = r"(\s+[SMAD]\s?\.\s?[A-Z]{1,5}\.?)+\s*$"


def with_name_tokens(df: DataFrame, source: str, out: str) -> DataFrame:
    """Add ``out``: standardised name tokens (array<string>), null for an empty name.

    Drops text in brackets and everything after a comma (degrees such as ``, S.PD.``);
    keeps letters only; strips leading titles and trailing degrees; maps abbreviations
    (M., MOH., MUH. -> MUHAMMAD; ABD -> ABDUL; Balinese short forms); modernises old
    spellings (OE->U, DJ->J, TJ->C, SJ->SY, NJ->NY, CH->KH); joins spaced-out letters
    (``A L I`` -> ``ALI``) and collapses a doubled single name (``BUDI BUDI``).

    Each step is its own column: a step refers to the previous result several times,
    and as one nested expression the plan would grow exponentially.
    """
    text = F.upper(F.col(source))
    text = F.regexp_replace(text, r"\([^)]*\)", " ")
    text = F.regexp_replace(text, r",.*$", "")
    text = F.regexp_replace(text, _DOTTED_DEGREES, "")
    text = F.regexp_replace(text, r"[^A-Z]+", " ")
    mapping = F.create_map(*[F.lit(x) for pair in TOKEN_MAP.items() for x in pair])
    t = F.col(out)
    steps = [
        F.filter(F.split(F.trim(text), " +"), lambda x: x != ""),
        _strip_leading(t, _literal_array(FRONT_TITLES)),
        F.reverse(t),
        _strip_leading(t, _literal_array(DEGREES)),
        F.reverse(t),
        # Map abbreviations before modernising spelling (MOCH must not become MOKH).
        F.transform(t, lambda x: _modern_spelling(F.coalesce(F.try_element_at(mapping, x), x))),
        F.when(
            (F.size(t) >= 2) & F.forall(t, lambda x: F.length(x) == 1), F.array(F.array_join(t, ""))
        ).otherwise(t),
        F.when(
            (F.size(t) == 2) & (F.element_at(t, 1) == F.element_at(t, 2)), F.slice(t, 1, 1)
        ).otherwise(t),
        F.when(F.size(t) > 0, t),
    ]
    for step in steps:
        df = df.withColumn(out, step)
    return df


def phonetic_token(token: Column) -> Column:
    """A sound key of one modern-spelling token (e.g. RIZKY, RISKI -> RISKI)."""
    for pattern, replacement in PHONETIC:
        token = F.regexp_replace(token, pattern, replacement)
    return token


def name_key(tokens: Column) -> Column:
    """Order-free phonetic key of a whole name: sorted distinct token keys, joined."""
    keys = F.array_sort(F.array_distinct(F.transform(tokens, phonetic_token)))
    return F.when(tokens.isNotNull(), F.array_join(keys, " "))


# ----------------------------------------------------------------------------- dates


def is_default_date(born: Column) -> Column:
    """1 January or 31 December: how unknown birth dates (and bare years) are recorded."""
    return ((F.month(born) == 1) & (F.dayofmonth(born) == 1)) | (
        (F.month(born) == 12) & (F.dayofmonth(born) == 31)
    )


def day_month_swapped(born: Column) -> Column:
    """The date with day and month exchanged, when that is another valid date."""
    day, month = F.dayofmonth(born), F.month(born)
    return F.when((day <= 12) & (day != month), F.make_date(F.year(born), day, month))


# ------------------------------------------------------------------------- addresses

_ADDRESS_WORDS = (
    (r"\bJALAN\b|\bJLN\b|\bJL\b", "JL"),
    (r"\bGANG\b|\bGG\b", "GG"),
    (r"\bDUSUN\b|\bDSN\b", "DSN"),
    (r"\bDUKUH\b|\bDK\b", "DK"),
    (r"\bKAMPUNG\b|\bKMP\b|\bKP\b", "KP"),
    (r"\bLORONG\b|\bLR\b", "LR"),
    (r"\bPERUMAHAN\b|\bPERUM\b", "PERUM"),
    (r"\bKOMPLEKS\b|\bKOMPLEK\b|\bKOMP\b", "KOMP"),
    (r"\bNOMOR\b|\bNO\b", "NO"),
    (r"\bBLOK\b|\bBL\b", "BLOK"),
)
_RT_RW = r"\bRT\s*\.?\s*0*([0-9]{1,3})\s*[/,]?\s*RW\s*\.?\s*0*([0-9]{1,3})\b"
_SLASHED = r"(?:^|\s)0*([0-9]{1,3})\s*/\s*0*([0-9]{1,3})\s*$"


def with_address(df: DataFrame, source: str, prefix: str) -> DataFrame:
    """Add ``<prefix>`` (standardised text), ``<prefix>_rt`` and ``<prefix>_rw`` (ints).

    Abbreviations are unified (JALAN/JLN -> JL, GANG -> GG, DUSUN -> DSN, ...);
    ``RT 003 RW 002``, ``RT 03/RW 02``, ``RT.3 RW.2`` and a trailing ``003/002`` are
    taken out of the text into the RT and RW columns.
    """
    raw = f"_{prefix}_raw"
    df = df.withColumn(raw, F.upper(F.col(source)))
    text = F.col(raw)

    def part(group: int) -> Column:
        return (
            F.when(text.rlike(_RT_RW), F.regexp_extract(text, _RT_RW, group))
            .when(text.rlike(_SLASHED), F.regexp_extract(text, _SLASHED, group))
            .cast("int")
        )

    cleaned = F.regexp_replace(F.regexp_replace(text, _RT_RW, " "), _SLASHED, " ")
    cleaned = F.regexp_replace(cleaned, r"[^A-Z0-9]+", " ")
    for pattern, replacement in _ADDRESS_WORDS:
        cleaned = F.regexp_replace(cleaned, pattern, replacement)
    cleaned = F.trim(F.regexp_replace(cleaned, r"\s+", " "))
    df = df.withColumns({f"{prefix}_rt": part(1), f"{prefix}_rw": part(2), prefix: cleaned})
    return df.withColumn(prefix, F.when(F.col(prefix) != "", F.col(prefix))).drop(raw)
