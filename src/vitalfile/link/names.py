"""Names as linkage compares them: one normal form, nickname forms, surname parts, and
whether two first names are variants of one name (the same, a nickname, a typing error).

Nicknames: the `nicknames` package's hand-curated table of English given names
(carltonnorthern/nicknames, Apache-2.0), and `EXTRA_NICKNAMES`, common US diminutives that
table lacks (DOLLY for DOLORES; Spanish diminutives such as PACO for FRANCISCO). Which
names are names, and of which sex: the 1990 US Census first-name lists (`names` package),
so that JOHN/JOAN are two names and HOLLYO is a typing error of HOLLY.

Pure and set-wise: values are mapped once per distinct name (a file of ten million people
holds far fewer distinct names), never once per row. Owns no SQL and no model.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import pyarrow as pa
import pyarrow.compute as pc
from nicknames import NickNamer

__all__ = [
    "EXTRA_NICKNAMES",
    "PARTICLES",
    "census_first_names",
    "first_name_forms",
    "last_name_parts",
    "map_distinct",
    "name_variant",
    "norm_name",
    "surname_parts",
]

# Words that join a surname without being one ("DE LA CRUZ"): never a name part on their own.
PARTICLES = frozenset(
    {"DE", "DEL", "DELA", "LA", "LE", "LOS", "LAS", "DA", "DI", "DOS", "DU", "VAN", "VON", "DER"}
    | {"DEN", "TER", "ST", "SAINT", "MC", "MAC", "Y", "E", "BIN", "BEN", "AL", "EL"}
)
# Common US diminutives missing from the `nicknames` package (1.0.1): nickname -> the formal
# names it stands for. Added by hand from common usage (issue 15); not a measured list.
EXTRA_NICKNAMES: dict[str, tuple[str, ...]] = {
    "DOLLY": ("DOLORES", "DELORES", "DOROTHY"),
    "LOLA": ("DOLORES", "DELORES", "MANUELA"),
    "LOLITA": ("DOLORES", "DELORES"),
    "SUZY": ("SUSAN", "SUZANNE", "SUSANNA"),
    "SUKIE": ("SUSAN", "SUSANNA"),
    "ELLE": ("ELEANOR", "ELLEN", "ELIZABETH"),
    "KATIE": ("KATHLEEN", "KATHERINE", "CATHERINE", "KATHRYN"),
    "KITTY": ("KATHERINE", "CATHERINE", "KATHLEEN"),
    "JAY": ("JAMES", "JASON"),
    "BENNY": ("BENEDICT", "BENJAMIN"),
    "ALF": ("ALFRED",),
    "MO": ("MAURICE", "MORRIS"),
    "STAN": ("STANLEY",),
    "ADDIE": ("ADELINE", "ADELAIDE", "ADDISON"),
    "AGGIE": ("AGNES", "AGATHA"),
    "BARB": ("BARBARA",),
    "BERNIE": ("BERNADETTE", "BERNARD"),
    "BONNIE": ("BONITA",),
    "GRETA": ("MARGARET", "MARGARETA"),
    "MARGE": ("MARJORIE", "MARGARET"),
    "MILLIE": ("MILDRED", "CAMILLE", "MILLICENT"),
    "ROZ": ("ROSALIND", "ROSALYN"),
    "TILLIE": ("MATILDA",),
    "XANDER": ("ALEXANDER",),
    "JERRY": ("JEROME", "GERALD", "JEREMIAH"),
    "MANNY": ("EMMANUEL", "MANUEL"),
    "OZZIE": ("OSWALD", "OSCAR"),
    "TERRY": ("TERRENCE", "TERENCE", "THERESA"),
    "LUPE": ("GUADALUPE",),
    "PEPE": ("JOSE",),
    "PACO": ("FRANCISCO",),
    "PANCHO": ("FRANCISCO",),
    "CHUY": ("JESUS",),
    "NACHO": ("IGNACIO",),
    "BETO": ("ROBERTO", "ALBERTO"),
    "MEMO": ("GUILLERMO",),
    "LALO": ("EDUARDO",),
    "CHELA": ("GRACIELA",),
    "CONCHITA": ("CONCEPCION",),
}
_NOT_NAME = re.compile(r"[^\w \-]|[\d_]")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1 << 17)  # names repeat: a week's batch asks for each a dozen times
def norm_name(text: str | None) -> str:
    """Upper case without accents, apostrophes or dots, single spaces; '' when nothing is left.

    "José-María d'Arc " → "JOSE-MARIA DARC".
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    plain = (
        plain.replace("ẞ", "SS")
        .replace("ß", "SS")
        .replace("Æ", "AE")
        .replace("Ø", "O")
        .replace("Ł", "L")
    )
    return _SPACES.sub(" ", _NOT_NAME.sub("", plain)).strip(" -")


@cache
def _namer() -> NickNamer:
    return NickNamer()


@cache
def first_name_forms(name: str) -> tuple[str, ...]:
    """The name and every formal name it is a known nickname of (sorted; () when empty).

    BILL → (BILL, ROBERT, WILL, WILLIAM, WILLIS): two first names "agree as nicknames" when
    their forms share a name.
    """
    n = norm_name(name)
    if not n:
        return ()
    forms = {n}
    first = n.split(" ")[0].split("-")[0]
    if first.isascii() and first.isalpha():
        forms.add(first)
        forms.update(c.upper() for c in _namer().canonicals_of(first.lower()))
        forms.update(EXTRA_NICKNAMES.get(first, ()))
    return tuple(sorted(forms))


_GENDER_ENDINGS = frozenset("AEO")  # MARIA/MARIO, PAUL/PAULA, LOUIS/LOUISE
_VOWELS = frozenset("AEIOUY")
_SEX_RATIO = 10.0  # see census_first_names


@cache
def census_first_names() -> dict[str, frozenset[str]]:
    """First name -> the sexes ('F', 'M') that bear it in the 1990 US Census: the 4,275
    female and 1,219 male first names of the Census Bureau's frequency files (public
    domain), as the `names` package ships them (treyhunner/names, MIT). A sex counts when
    at least a tenth as many of its people bear the name as of the other's (JOHN, listed
    for 0.012 % of women against 3.271 % of men, is a man's name; TERRY is both). A name
    not here is rare or not a name at all (KOB, HOLLYO: a typing error)."""
    from importlib.resources import files

    share: dict[str, dict[str, float]] = {}
    for sex, file in (("F", "dist.female.first"), ("M", "dist.male.first")):
        for line in files("names").joinpath(file).read_text(encoding="ascii").splitlines():
            parts = line.split()
            if len(parts) >= 2:
                share.setdefault(parts[0], {})[sex] = float(parts[1])
    return {
        name: frozenset(sex for sex, v in by.items() if v * _SEX_RATIO >= max(by.values()))
        for name, by in share.items()
    }


def _opposite_sexes(a: str, b: str) -> bool:
    """Both are census first names, and no sex has both (JOHN and JOAN, PAUL and PAULA)."""
    known = census_first_names()
    sa, sb = known.get(a), known.get(b)
    return bool(sa and sb and not sa & sb)


def _other_gender(a: str, b: str) -> bool:
    """Two names one final vowel apart, as a man's and a woman's form often are: the final
    A, E or O changed (MARIA/MARIO, also for names the census lacks: GIULIO/GIULIA), or
    added to a name that ends in a consonant (PAUL/PAULA). A final vowel added to what is
    no name (KOB/KOBE, SAR/SARA: a name cut short) or after a vowel or Y (HOLLY/HOLLYO) is
    a typing error."""
    short, long_ = sorted((a, b), key=len)
    if len(short) == len(long_):
        return (
            short[:-1] == long_[:-1]
            and short[-1] in _GENDER_ENDINGS
            and long_[-1] in _GENDER_ENDINGS
        )
    return (
        long_.startswith(short)
        and long_[-1] in _GENDER_ENDINGS
        and short[-1] not in _VOWELS
        and short in census_first_names()
    )


def name_variant(a: str, b: str) -> bool:
    """Two first names are one name written differently: the same (normalised, spaces and
    hyphens aside), a nickname of it (or both nicknames of one name), or one typing error
    apart (Damerau-Levenshtein 1), except where they are two names:
    - a man's and a woman's name by the 1990 US Census first-name lists (JOHN and JOAN,
      MARK and MARY, LOUIS and LOUISE), even where the nickname table relates them;
    - names that differ only by a final A, E or O as a man's and a woman's name do (MARIA
      and MARIO, PAUL and PAULA; see `_other_gender`);
    - two names of three letters that are both census names (BEN and KEN); a three-letter
      typing error of a name (BNE for BEN, SAR for SARA) is a variant.
    JOHN and JAMES (twins), MARY and ROBERT (a spouse): no.

    A junior and his father share a name: that is a variant; their birth dates and suffix
    tell them apart (`typos.date_typo`)."""
    from vitalfile.link.typos import one_edit

    na, nb = norm_name(a), norm_name(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    ca, cb = (re.sub(r"[ \-]", "", n) for n in (na, nb))
    if ca == cb:
        return True
    shortest = min(len(ca), len(cb))
    typo = shortest >= 3 and one_edit(ca, cb)
    if typo and _opposite_sexes(ca, cb):
        return False
    if set(first_name_forms(na)) & set(first_name_forms(nb)):
        return True
    if not typo or _other_gender(ca, cb):
        return False
    known = census_first_names()
    return shortest >= 4 or not (ca in known and cb in known)


@cache
def last_name_parts(name: str) -> tuple[str, ...]:
    """The words of a surname, particles left out: "GARCIA-LOPEZ" → (GARCIA, LOPEZ).

    A maiden or former name that survives in a double-barrelled or multi-word surname is
    found by the parts two surnames share.
    """
    n = norm_name(name)
    parts = {p for p in re.split(r"[ \-]", n) if p and p not in PARTICLES}
    return tuple(sorted(parts))


@cache
def surname_parts(last_name: str, former_names: str = "") -> tuple[str, ...]:
    """The parts of a surname and of the person's former surnames (";"-separated).

    ("SMITH", "JONES") → (JONES, SMITH): a report giving a woman's maiden name shares a part
    with her record on file, which keeps the maiden name among her former names.
    """
    parts = set(last_name_parts(last_name))
    for former in former_names.split(";"):
        parts.update(last_name_parts(former))
    return tuple(sorted(parts))


def map_distinct(
    values: pa.Array | pa.ChunkedArray,
    fn: object,
    out_type: pa.DataType,
) -> pa.Array:
    """`fn` applied once per distinct value of `values` (nulls stay null), as an Arrow array."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    uniq = pc.unique(arr)
    mapped = pa.array([None if v is None else fn(v) for v in uniq.to_pylist()], out_type)  # type: ignore[operator]
    return mapped.take(pc.index_in(arr, value_set=uniq))
