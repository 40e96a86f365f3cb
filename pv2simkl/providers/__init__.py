"""Metadata providers (Simkl, TMDB, TVDB, MAL/Jikan, IMDb) behind one interface.

Filled in by the providers issue; the store's ``works`` table already has the id columns.
"""
