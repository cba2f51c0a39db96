"""Sentiment: English text -> negative/positive, tokenised exactly as training tokenised it."""
