"""Recommender: a user id -> a score for every item; the friendly route ranks the top k."""
