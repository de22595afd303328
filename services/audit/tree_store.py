"""The log's Merkle tree as stored: a merkle.NodeSource over the leaf hashes of audit_events (level
0) and the complete interior nodes of audit_nodes, read inside the caller's session or
connection — so the integrator's transaction sees the nodes it has just written. One indexed
read per node."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from .merkle import MerkleError, Node, subtree_position
from .models import AuditEventRow, NodeRow


class StoredNodes:
    def __init__(self, session: Session | Connection) -> None:
        self._session = session

    def get_subtree_hash(self, start: int, end: int) -> bytes:
        level, index = subtree_position(start, end)
        if level == 0:
            query = select(AuditEventRow.leaf_hash).where(AuditEventRow.sequence == index + 1)
        else:
            query = select(NodeRow.hash).where(NodeRow.level == level, NodeRow.node_index == index)
        found = self._session.scalar(query)
        if found is None:
            raise MerkleError(f"no stored node for [{start}, {end})")
        return bytes(found)


def node_rows(nodes: list[Node]) -> list[dict[str, object]]:
    """The audit_nodes rows of newly completed nodes; leaves (level 0) live in their event rows."""
    return [{"level": n.level, "node_index": n.index, "hash": n.hash} for n in nodes if n.level > 0]
