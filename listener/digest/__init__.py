"""The daily digest: one email per day with volume, sentiment, alerts, replies owed and source health.

``build`` reads the database, ``render`` writes the email (``listener.charts`` draws its
PNG, ``words`` speaks Italian and English), ``send`` sends it once per day and
recipient list.
"""
