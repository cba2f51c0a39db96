"""The drift function: on a schedule, each model's live version against its reference profile."""
