"""Handwritten digits: any PNG/JPEG of one digit (or raw 8x8 pixels) -> 0..9 with probabilities."""
