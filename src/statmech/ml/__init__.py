"""The ML bridge: training losses as Hamiltonians over the weights (tmp)."""
from statmech.ml._models import GibbsModel, LinearRegression, LogisticRegression, LossModel, MLP
