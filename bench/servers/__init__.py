"""The HTTP servers of section 3. Each runs as its own process (peers in their own venvs)."""
