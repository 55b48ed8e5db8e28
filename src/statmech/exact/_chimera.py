"""The D-Wave Chimera graph C(m, n, t) as a networkx graph (no dwave-networkx needed).

An m × n grid of unit cells; cell (i, j) holds 2t spins, t "vertical" ones
(u = 0) and t "horizontal" ones (u = 1), coupled as the complete bipartite
graph K_{t,t}. Vertical spin k of cell (i, j) is also coupled to vertical spin
k of cell (i+1, j), horizontal spin k to horizontal spin k of cell (i, j+1).
Spin (i, j, u, k) has the linear label ((i·n + j)·2 + u)·t + k, as in
dwave-networkx. C(4, 4, 4) has 128 spins and 352 bonds. Reference: Bunyk et
al., IEEE Trans. Appl. Supercond. 24, 1700110 (2014).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from statmech._validation import check_positive_int

if TYPE_CHECKING:  # for the annotations only: networkx is imported when a graph is built
    import networkx


def chimera_graph(m: int, n: int | None = None, t: int = 4) -> networkx.Graph:
    """Chimera graph with ``m`` × ``n`` unit cells K_{t,t} (``n`` defaults to ``m``); networkx ``Graph``.

    Nodes carry the attribute ``chimera_index`` = (i, j, u, k); pass the graph
    to :meth:`statmech.Ising.from_networkx` after setting edge ``J`` / node ``h``.
    """
    import networkx as nx

    m = check_positive_int(m, "m")
    n = m if n is None else check_positive_int(n, "n")
    t = check_positive_int(t, "t")

    def label(i, j, u, k):
        return ((i * n + j) * 2 + u) * t + k

    graph = nx.Graph()
    for i in range(m):
        for j in range(n):
            for u in (0, 1):
                for k in range(t):
                    graph.add_node(label(i, j, u, k), chimera_index=(i, j, u, k))
    for i in range(m):
        for j in range(n):
            for a in range(t):
                for b in range(t):
                    graph.add_edge(label(i, j, 0, a), label(i, j, 1, b))
            for k in range(t):
                if i + 1 < m:
                    graph.add_edge(label(i, j, 0, k), label(i + 1, j, 0, k))
                if j + 1 < n:
                    graph.add_edge(label(i, j, 1, k), label(i, j + 1, 1, k))
    return graph
