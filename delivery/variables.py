"""The contract's welfare variables (``shared/contract/inputs.md``), named once.

Used by the generator (to write them), linkage (to consolidate them into golden
records) and the PMT (as features).
"""

from __future__ import annotations

HOUSING_VARIABLES = (
    "jumlah_keluarga_dalam_rumah",
    "status_bangunan",
    "luas_lantai",
    "lantai",
    "dinding",
    "atap",
    "air_minum",
    "penerangan",
    "daya_listrik",
)
"""Regsosek family variables up to ``daya_listrik`` (``id_pln`` follows it in the file)."""
ASSET_VARIABLES = (
    "aset_gas_5kg",
    "aset_kulkas",
    "aset_ac",
    "aset_pemanas_air",
    "aset_telepon_rumah",
    "aset_tv_datar",
    "aset_emas_10g",
    "aset_komputer",
    "aset_sepeda",
    "aset_sepeda_motor",
    "aset_mobil",
    "aset_perahu",
    "aset_perahu_motor",
    "aset_smartphone",
    "aset_lahan_lain",
    "aset_rumah_lain",
)
LIVESTOCK_VARIABLES = (
    "ternak_sapi",
    "ternak_kerbau",
    "ternak_kuda",
    "ternak_babi",
    "ternak_kambing",
)
FAMILY_VARIABLES = (
    *HOUSING_VARIABLES,
    "bahan_bakar",
    "fasilitas_bab",
    "kloset",
    "pembuangan_tinja",
    *ASSET_VARIABLES,
    *LIVESTOCK_VARIABLES,
)
"""Every Regsosek family welfare variable, in file order (without ``id_pln``)."""
MEMBER_VARIABLES = (
    "status_kawin",
    "partisipasi_sekolah",
    "pendidikan",
    "bekerja",
    "lapangan_usaha",
    "status_pekerjaan",
    "punya_usaha",
    "disabilitas",
    "penyakit_kronis",
)
DTKS_INDICATORS = (
    "D1_TEMPAT_BERTEDUH",
    "D2_KK_BEKERJA",
    "D3_KHAWATIR_MAKAN",
    "D4_PANGAN_GT50",
    "D5_BELI_PAKAIAN",
    "D6_LANTAI_TANAH",
    "D7_DINDING_BAMBU",
    "D8_BAB_SENDIRI",
    "D9_LISTRIK_450",
)
