"""Scripts the suite runs as separate processes (cold starts, the Keras baseline model)."""
