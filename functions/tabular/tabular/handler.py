"""Lambda entry point for the tabular model: everything but the model lives in the layer."""
from lepton_serving import serve

from tabular.model import TabularModel

lambda_handler = serve(TabularModel)
