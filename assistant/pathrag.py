"""PathRAG path search: simple paths between retrieved nodes of the code graph, pruned by flow.

Method from "PathRAG: Pruning Graph-based Retrieval Augmented Generation with Relational Paths"
(Chen et al., 2025). A start node sends resource 1 along its edges, split in proportion to edge
confidence and multiplied by a decay `alpha` per hop. A node whose resource falls below
`threshold` passes nothing on. A path's reliability is the mean resource of its nodes after
the start. Edges are walked in both directions because a relation links two pieces of code
whichever way it points; each hop remembers the direction so the text can name it correctly.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from indexer.graph_resolve import Edge

logger = logging.getLogger(__name__)

MAX_HOPS = 3


@dataclass(frozen=True)
class Hop:
    """One step of a path: the edge taken and whether it was walked along its direction."""

    edge: Edge
    is_forward: bool

    @property
    def start(self) -> str:
        """The node key the hop leaves."""
        return self.edge.source if self.is_forward else self.edge.target

    @property
    def end(self) -> str:
        """The node key the hop reaches."""
        return self.edge.target if self.is_forward else self.edge.source


@dataclass(frozen=True)
class ScoredPath:
    """A simple path between two start nodes with the resource that reached each node after the start."""

    hops: tuple[Hop, ...]
    resources: tuple[float, ...]

    @property
    def nodes(self) -> tuple[str, ...]:
        """The node keys in path order, start first."""
        return (self.hops[0].start, *(hop.end for hop in self.hops))

    @property
    def reliability(self) -> float:
        """The mean resource along the path, the start node excluded."""
        return sum(self.resources) / len(self.resources)


class PathGraph:
    """An undirected view of the code graph's edges, for path search."""

    def __init__(self, edges: Iterable[Edge]) -> None:
        self._incident: dict[str, list[Hop]] = defaultdict(list)
        self._weight: dict[str, float] = defaultdict(float)
        for edge in edges:
            if edge.source == edge.target or edge.confidence <= 0:
                continue
            self._incident[edge.source].append(Hop(edge, True))
            self._incident[edge.target].append(Hop(edge, False))
            self._weight[edge.source] += edge.confidence
            self._weight[edge.target] += edge.confidence

    def __contains__(self, key: object) -> bool:
        return key in self._incident

    def hops_from(self, key: str) -> list[Hop]:
        """Return the edges at a node, each oriented to leave it."""
        return self._incident.get(key, [])

    def flow_share(self, key: str, hop: Hop) -> float:
        """Return the share of a node's resource that goes along one of its edges (edge confidence over the total)."""
        return hop.edge.confidence / self._weight[key]


def find_paths(
    graph: PathGraph,
    start_nodes: Sequence[str],
    alpha: float,
    threshold: float,
    max_paths: int,
    start_resources: Mapping[str, float] | None = None,
    open_ends: bool = False,
) -> list[ScoredPath]:
    """Return the best simple paths of 1 to `MAX_HOPS` hops between pairs of start nodes, best first.

    Flow from each start node is pushed hop by hop: the resource reaching the next node is
    `alpha * resource * share`, and a node below `threshold` is a dead end that ends no path
    except as the last node. Paths with the same node set are one path (the more reliable is
    kept), so A-B and B-A count once. Ties are broken by fewer hops, then by node keys.

    `start_resources` replaces the resource 1 of each start node, for example with its
    retrieval score scaled to the best one, so paths between better hits rank higher.

    With `open_ends`, a path between definitions may also end at a definition that is not a
    start node, so the code a retrieved definition calls or inherits from can enter the
    context. Such a path never passes through a file node, which would link every definition
    of a file, or every file it imports, to each other. The reference method keeps only paths
    between retrieved nodes.
    """
    if not 0 < alpha <= 1 or not 0 <= threshold < 1 or max_paths < 0:
        raise ValueError(
            f"alpha {alpha}, threshold {threshold}, max_paths {max_paths} are invalid; "
            "use 0 < alpha <= 1, 0 <= threshold < 1, max_paths >= 0"
        )
    targets = {node for node in start_nodes if node in graph}
    best: dict[frozenset[str], ScoredPath] = {}
    for start in dict.fromkeys(start_nodes):
        if start not in graph:
            continue
        resource = 1.0 if start_resources is None else start_resources.get(start, 1.0)
        for path in _paths_from(graph, start, resource, targets, alpha, threshold, open_ends):
            node_set = frozenset(path.nodes)
            kept = best.get(node_set)
            if kept is None or _rank(path) < _rank(kept):
                best[node_set] = path
    ranked = sorted(best.values(), key=_rank)
    logger.debug("path search: %d start nodes, %d distinct paths, keeping %d", len(targets), len(ranked), max_paths)
    return ranked[:max_paths]


def _rank(path: ScoredPath) -> tuple[float, int, tuple[str, ...]]:
    return (-path.reliability, len(path.hops), path.nodes)


def _paths_from(
    graph: PathGraph, start: str, resource: float, targets: set[str], alpha: float, threshold: float, open_ends: bool
) -> list[ScoredPath]:
    found: list[ScoredPath] = []
    # Each stack item: the node reached, the resource there, the hops and resources so far.
    stack: list[tuple[str, float, tuple[Hop, ...], tuple[float, ...]]] = [(start, resource, (), ())]
    while stack:
        node, resource, hops, resources = stack.pop()
        if resource < threshold or len(hops) == MAX_HOPS:
            continue
        visited = {start, *(hop.end for hop in hops)}
        for hop in graph.hops_from(node):
            if hop.end in visited:
                continue
            arrived = alpha * resource * graph.flow_share(node, hop)
            path_hops, path_resources = (*hops, hop), (*resources, arrived)
            if hop.end in targets:
                found.append(ScoredPath(path_hops, path_resources))
                continue
            if open_ends and arrived >= threshold and all(_is_definition(item.end) for item in path_hops) and _is_definition(start):
                found.append(ScoredPath(path_hops, path_resources))
            stack.append((hop.end, arrived, path_hops, path_resources))
    return found


def _is_definition(key: str) -> bool:
    """Tell a definition node ("path::Name") from a file node (its path)."""
    return "::" in key
