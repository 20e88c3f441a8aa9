"""KSeF 2.0 (Krajowy System e-Faktur) for cabinet.

``cabinet_ksef.client.KsefClient`` speaks the KSeF 2.0 API; ``cabinet_ksef.qr`` builds the
verification codes printed on invoices; ``cabinet_ksef.plugin`` wires both into cabinet.
"""
