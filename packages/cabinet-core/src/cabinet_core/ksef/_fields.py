"""FA(3) names shared by the writer and the reader."""

from __future__ import annotations

#: The per-rate net total fields (``P_13_x``) in the schema's order.
NET_FIELDS = (
    "P_13_1",
    "P_13_2",
    "P_13_3",
    "P_13_4",
    "P_13_5",
    "P_13_6_1",
    "P_13_6_2",
    "P_13_6_3",
    "P_13_7",
    "P_13_8",
    "P_13_9",
    "P_13_10",
    "P_13_11",
)
