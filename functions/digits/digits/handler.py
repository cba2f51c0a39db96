"""Lambda entry point for the digits model: everything but the model lives in the layer."""
from lepton_serving import serve

from digits.model import DigitsModel

lambda_handler = serve(DigitsModel)
