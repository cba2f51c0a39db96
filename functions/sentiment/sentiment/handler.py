"""Lambda entry point for the sentiment model: everything but the model lives in the layer."""
from lepton_serving import serve

from sentiment.model import SentimentModel

lambda_handler = serve(SentimentModel)
