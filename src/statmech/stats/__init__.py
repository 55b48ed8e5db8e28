"""Statistics: the Estimate value type and Monte Carlo error analysis."""
from statmech.stats._autocorr import (
    BlockingResult,
    ChainStatistics,
    JackknifeResult,
    autocorrelation_function,
    blocking_error,
    chain_statistics,
    integrated_autocorrelation_time,
    integrated_autocorrelation_time_stderr,
    jackknife,
    multichain_ess,
    split_rhat,
)
from statmech.stats._estimate import Estimate

__all__ = [
    "Estimate", "BlockingResult", "ChainStatistics", "JackknifeResult", "autocorrelation_function",
    "blocking_error", "chain_statistics", "integrated_autocorrelation_time",
    "integrated_autocorrelation_time_stderr", "jackknife", "multichain_ess", "split_rhat",
]
