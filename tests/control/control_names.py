"""Resource names of the control tests' moto world, importable by module name (not via conftest)."""
BUCKET = "lepton-models-control"
FUNCTIONS = {"tabular": "lepton-test-tabular", "digits": "lepton-test-digits"}
LOGICAL = {"tabular": "TabularFunction", "digits": "DigitsFunction"}
