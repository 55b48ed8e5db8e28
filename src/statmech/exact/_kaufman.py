"""Kaufman's exact finite-lattice solution (placeholder: being written)."""
