"""Dukcapil validation (padan) and the deterministic NIK pass.

A NIK is trusted only when the identity behind it agrees: a NIK that exists in
Dukcapil but belongs to someone else (a family member's NIK copied onto the wrong row,
an old retired NIK reused) is ``TIDAK_PADAN``, not a match. Agreement needs the sex, a
close name and a compatible birth date (see :func:`identity_agrees`).

Status per source record:

- ``NIK_TIDAK_VALID``: the NIK fails its format checks (:mod:`linkage.nik`);
- ``TIDAK_PADAN``: no Dukcapil record has the NIK, or the identity disagrees;
- ``PADAN_AKTIF`` / ``PADAN_TIDAK_AKTIF``: found, agrees, and the Dukcapil record is
  ``AKTIF`` / anything else (``MENINGGAL``, ``PINDAH_LN``, ``GANDA``).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

PADAN_AKTIF = "PADAN_AKTIF"
PADAN_TIDAK_AKTIF = "PADAN_TIDAK_AKTIF"
TIDAK_PADAN = "TIDAK_PADAN"
NIK_TIDAK_VALID = "NIK_TIDAK_VALID"
# Records sharing one NIK beyond this are not linked on it (a placeholder NIK).
MAX_NIK_GROUP = 20

_IDENTITY = (
    "uid",
    "nik",
    "nama",
    "nama_kunci",
    "nama_token",
    "jenis_kelamin",
    "tanggal_lahir",
    "tgl_tukar",
    "tgl_default",
)


def _side(df: DataFrame, prefix: str, extra: tuple[str, ...] = ()) -> DataFrame:
    return df.select(*[F.col(c).alias(f"{prefix}_{c}") for c in (*_IDENTITY, *extra)])


def identity_agrees(a: str, b: str) -> Column:
    """Whether the records in columns ``<a>_*`` and ``<b>_*`` describe the same person.

    Sex must not disagree. Then either a strong name (same phonetic key, or
    Jaro-Winkler >= 0.92) with a compatible date (equal, day/month swapped, a default
    date in the same year, or within 31 days), or a medium name (Jaro-Winkler >= 0.8,
    or half the tokens shared) with an equal or swapped date. A family member sharing
    the NIK fails on the date; a twin fails on the name.
    """

    def c(side: str, name: str) -> Column:
        return F.col(f"{side}_{name}")

    sex_ok = (
        c(a, "jenis_kelamin").isNull()
        | c(b, "jenis_kelamin").isNull()
        | (c(a, "jenis_kelamin") == c(b, "jenis_kelamin"))
    )
    jw = F.call_function("jaro_winkler", c(a, "nama"), c(b, "nama"))
    shared = F.size(F.array_intersect(c(a, "nama_token"), c(b, "nama_token")))
    fewest = F.least(F.size(c(a, "nama_token")), F.size(c(b, "nama_token")))
    name_strong = (c(a, "nama_kunci") == c(b, "nama_kunci")) | (jw >= 0.92)
    name_medium = name_strong | (jw >= 0.8) | (shared * 2 >= fewest)
    date_exact = (
        (c(a, "tanggal_lahir") == c(b, "tanggal_lahir"))
        | (c(a, "tgl_tukar") == c(b, "tanggal_lahir"))
        | (c(a, "tanggal_lahir") == c(b, "tgl_tukar"))
    )
    same_year_default = (c(a, "tgl_default") | c(b, "tgl_default")) & (
        F.year(c(a, "tanggal_lahir")) == F.year(c(b, "tanggal_lahir"))
    )
    near = F.abs(F.datediff(c(a, "tanggal_lahir"), c(b, "tanggal_lahir"))) <= 31
    date_ok = date_exact | same_year_default | near
    agrees = sex_ok & ((name_strong & date_ok) | (name_medium & date_exact))
    return F.coalesce(agrees, F.lit(False))


def padan(records: DataFrame) -> DataFrame:
    """Add ``status_padan`` and ``uid_dukcapil`` (the Dukcapil record it matched).

    Args:
        records: standardised records of every source, Dukcapil included, with
            ``nik`` and ``nik_alasan`` from :func:`linkage.nik.decode`.

    Dukcapil's own records are ``PADAN_AKTIF`` when their ``STATUS`` is ``AKTIF``.
    Only records with a valid NIK take part in the join, so the (many) null and
    invalid NIKs never pile up in one join partition.
    """
    dukcapil = records.where(F.col("sumber") == "dukcapil")
    reference = _side(dukcapil.where(F.col("nik_alasan").isNull()), "d", ("status_dukcapil",))
    sources = records.where(F.col("sumber") != "dukcapil")
    valid = sources.where(F.col("nik_alasan").isNull())
    joined = (
        _side(valid, "s")
        .join(reference, F.col("s_nik") == F.col("d_nik"), "left")
        .withColumn("_agrees", F.col("d_uid").isNotNull() & identity_agrees("s", "d"))
        .select(
            F.col("s_uid").alias("uid"),
            F.when(~F.col("_agrees"), F.lit(TIDAK_PADAN))
            .when(F.col("d_status_dukcapil") == "AKTIF", F.lit(PADAN_AKTIF))
            .otherwise(F.lit(PADAN_TIDAK_AKTIF))
            .alias("status_padan"),
            F.when(F.col("_agrees"), F.col("d_uid")).alias("uid_dukcapil"),
        )
    )
    checked = valid.join(joined, "uid")
    invalid = sources.where(F.col("nik_alasan").isNotNull()).withColumns(
        {"status_padan": F.lit(NIK_TIDAK_VALID), "uid_dukcapil": F.lit(None).cast("string")}
    )
    own = dukcapil.withColumns(
        {
            "status_padan": F.when(F.col("status_dukcapil") == "AKTIF", PADAN_AKTIF).otherwise(
                PADAN_TIDAK_AKTIF
            ),
            "uid_dukcapil": F.col("uid"),
        }
    )
    return checked.unionByName(invalid).unionByName(own)


def nik_edges(records: DataFrame) -> DataFrame:
    """Deterministic edges ``uid_l``, ``uid_r`` from trusted NIKs.

    A source record that is padan links to its Dukcapil record. Source records that
    are not padan but share a valid NIK link to each other when their identities agree
    (people missing from the Dukcapil extract); NIKs held by more than
    ``MAX_NIK_GROUP`` records are skipped as placeholders.
    """
    to_dukcapil = records.where(
        (F.col("sumber") != "dukcapil") & F.col("status_padan").startswith("PADAN")
    ).select(F.col("uid").alias("uid_l"), F.col("uid_dukcapil").alias("uid_r"))
    loose = records.where((F.col("sumber") != "dukcapil") & (F.col("status_padan") == TIDAK_PADAN))
    sizes = loose.groupBy("nik").agg(F.count(F.lit(1)).alias("_n"))
    grouped = loose.join(sizes.where(F.col("_n").between(2, MAX_NIK_GROUP)), "nik")
    pairs = (
        _side(grouped, "a")
        .join(
            _side(grouped, "b"),
            (F.col("a_nik") == F.col("b_nik")) & (F.col("a_uid") < F.col("b_uid")),
        )
        .where(identity_agrees("a", "b"))
        .select(F.col("a_uid").alias("uid_l"), F.col("b_uid").alias("uid_r"))
    )
    return to_dukcapil.unionByName(pairs)
