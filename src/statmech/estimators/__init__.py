"""Free-energy (log Z) estimators from Monte Carlo samples.

Each private module registers its method(s) with ``statmech.thermo`` when it
is imported (``statmech.thermo._load_methods`` imports them lazily).
"""
