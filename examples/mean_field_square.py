"""Mean field, BP (Bethe), TAP and TRW against the exact square lattice across β.

usage: python examples/mean_field_square.py [--quick] [OUT.png]

Free entropy density log Z/N of the periodic L x L Ising ferromagnet at h = 0
(L = 32; 16 with --quick): naive mean field (a lower bound), BP from all-up
messages (the Bethe approximation; its paramagnetic branch is
ln 2 + 2 ln cosh β, the ordered branch takes over at the Bethe critical point
tanh β_B = 1/3), TRW (an upper bound, uniform spanning-tree weights), TAP (the
second-order Plefka expansion, designed for dense models: on this sparse
lattice it is shown for comparison only) and the exact value (Kaufman, same L).
The lower panel shows each approximation minus the exact value.
Writes docs/figures/mean_field_square.png by default.
"""
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import statmech as sm  # noqa: E402


def main():
    quick = "--quick" in sys.argv
    paths = [a for a in sys.argv[1:] if a != "--quick"]
    output = paths[0] if paths else "docs/figures/mean_field_square.png"
    betas = np.linspace(0.05, 0.8, 16 if quick else 46)
    curves = sm.approx.square_lattice_curves(betas, L=16 if quick else 32)

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7.5), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 2]})
    styles = (("exact", "exact (Kaufman)", "k", "-"), ("trw", "TRW (upper bound)", "C3", "--"),
              ("bp", "BP / Bethe", "C0", "-"), ("tap", "TAP (Plefka 2nd order)", "C2", ":"),
              ("mean_field", "naive mean field (lower bound)", "C1", "-."))
    for name, label, colour, style in styles:
        values = getattr(curves, name)
        top.plot(curves.betas, values, style, color=colour, label=label)
        if name != "exact":
            bottom.plot(curves.betas, values - curves.exact, style, color=colour, label=label)
    paramagnet = math.log(2) + 2 * np.log(np.cosh(curves.betas))
    top.plot(curves.betas, paramagnet, color="0.6", lw=0.8, label="paramagnetic Bethe: ln 2 + 2 ln cosh β")
    for axis in (top, bottom):
        axis.axvline(curves.bethe_beta, color="C0", lw=0.8, alpha=0.6)
        axis.axvline(sm.CRITICAL_BETA, color="k", lw=0.8, alpha=0.6)
    top.text(curves.bethe_beta, top.get_ylim()[1], " β_Bethe = atanh(1/3)", color="C0",
             va="top", fontsize=8)
    top.text(sm.CRITICAL_BETA, top.get_ylim()[0], " β_c (Onsager)", va="bottom", fontsize=8)
    bottom.axhline(0.0, color="k", lw=0.6)
    top.set_ylabel("log Z / N")
    bottom.set_ylabel("approximation − exact")
    bottom.set_xlabel("β (J = 1, h = 0)")
    top.set_title(f"Square lattice {curves.L}×{curves.L}, periodic: approximations of log Z")
    top.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
