"""Lambda entry point for the recommender model: everything but the model lives in the layer."""
from lepton_serving import serve

from recommender.model import RecommenderModel

lambda_handler = serve(RecommenderModel)
