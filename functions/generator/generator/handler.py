"""Lambda entry point for the generator model: everything but the model lives in the layer."""
from lepton_serving import serve

from generator.model import GeneratorModel

lambda_handler = serve(GeneratorModel)
