"""Local wire-format servers for X and Reddit, the scripted demo conversation, and ``python -m listener.demo``.

A product module, not test scaffolding: the demo and the tests point the real
tweepy and praw clients at these servers through the clients' own settings.
"""
