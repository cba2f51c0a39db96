"""Bring your own model: `lepton add` turns an ONNX file into its own model function, `lepton
remove` takes it out again.

inspection.py reads the file and refuses what cannot be served; names.py holds the name rules;
golden.py writes the manifest (signature, labels, golden examples run by onnxruntime);
scaffold.py writes functions/<name>/; template_edit.py edits template.yaml with a round-trip
YAML editor; cli.py runs the steps in that order, so nothing is written before every check passed.
"""
