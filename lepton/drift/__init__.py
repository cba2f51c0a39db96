"""`lepton drift`: the drift check on the local stack's captured requests, printed or as a report."""
