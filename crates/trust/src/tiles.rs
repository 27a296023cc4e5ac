//! The stored form of the Merkle log: tiles, in the manner of C2SP tlog-tiles.
//!
//! A tile of level `L` holds up to 256 consecutive hashes of the tree's nodes at height
//! `8·L` (level 0: the leaf hashes; level 1: the roots of complete 256-leaf subtrees; …).
//! Every other node is the root of a run of a tile's hashes, recomputed on read. So an
//! append writes one row per tile it touches (usually one) instead of a row per node,
//! and a proof over ten million entries reads three or four tiles instead of ~25 nodes.
//!
//! Tiles only grow: a stored prefix never changes. A reader may therefore keep any tile
//! it has read and use it for every node its prefix covers.

use std::collections::{BTreeMap, HashMap};

use crate::merkle::{Hash, NodeId, node_hash};

/// Heights of the tree a tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// A tile: its level and its index among the tiles of that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub idx: u64,
}

/// Where a node's hash is found: its tile and the run `[start, start + len)` of the tile's
/// hashes it is the root of.
pub fn locate(node: NodeId) -> (TileId, usize, usize) {
    let r = node.level % TILE_HEIGHT;
    let first = node.idx << r;
    (TileId { level: node.level / TILE_HEIGHT, idx: first >> TILE_HEIGHT }, (first % TILE_WIDTH) as usize, 1usize << r)
}

/// The tiles that hold `nodes`, without duplicates, with the number of hashes each must
/// hold at least.
pub fn tiles_for(nodes: &[NodeId]) -> BTreeMap<TileId, usize> {
    let mut out = BTreeMap::new();
    for n in nodes {
        let (tile, start, len) = locate(*n);
        let need = out.entry(tile).or_insert(0);
        *need = (*need).max(start + len);
    }
    out
}

/// The number of hashes a stored tile holds.
pub fn width(tile: &[u8]) -> usize {
    tile.len() / 32
}

fn hash_at(tile: &[u8], i: usize) -> Hash {
    let mut h = [0u8; 32];
    h.copy_from_slice(&tile[i * 32..(i + 1) * 32]);
    h
}

/// The root of the perfect subtree over hashes `[start, start + len)` of a tile (`len` a
/// power of two); `None` if the tile does not hold them yet.
pub fn subtree(tile: &[u8], start: usize, len: usize) -> Option<Hash> {
    if !tile.len().is_multiple_of(32) || start + len > width(tile) || !len.is_power_of_two() {
        return None;
    }
    let mut level: Vec<Hash> = (start..start + len).map(|i| hash_at(tile, i)).collect();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level.pop()
}

/// Tiles read, by id (shared: a stored prefix never changes).
pub type TileMap = HashMap<TileId, std::sync::Arc<Vec<u8>>>;

/// The hashes of `nodes` from the tiles read; nodes whose tile is missing or too short are
/// left out (the caller's proof then reports what is missing).
pub fn nodes_from(nodes: &[NodeId], tiles: &TileMap) -> HashMap<NodeId, Hash> {
    let mut out = HashMap::with_capacity(nodes.len());
    for n in nodes {
        let (tile, start, len) = locate(*n);
        if let Some(hash) = tiles.get(&tile).and_then(|t| subtree(t, start, len)) {
            out.insert(*n, hash);
        }
    }
    out
}

/// What appending makes of the tiles: for each tile touched, the position of its first new
/// hash and the hashes, in order. `created` is what [`crate::merkle::Frontier::append`]
/// returned, in the order it returned them.
pub fn appends(created: &[(NodeId, Hash)]) -> BTreeMap<TileId, (usize, Vec<Hash>)> {
    let mut out: BTreeMap<TileId, (usize, Vec<Hash>)> = BTreeMap::new();
    for (node, hash) in created.iter().filter(|(n, _)| n.level % TILE_HEIGHT == 0) {
        let tile = TileId { level: node.level / TILE_HEIGHT, idx: node.idx >> TILE_HEIGHT };
        let pos = (node.idx % TILE_WIDTH) as usize;
        out.entry(tile).or_insert((pos, Vec::new())).1.push(*hash);
    }
    out
}

/// Extends a stored tile with appended hashes; `None` if they do not start where the
/// stored tile ends (the store and the writer disagree: nothing may be written).
pub fn extend(stored: &[u8], first: usize, hashes: &[Hash]) -> Option<Vec<u8>> {
    if !stored.len().is_multiple_of(32) || width(stored) != first || first + hashes.len() > TILE_WIDTH as usize {
        return None;
    }
    let mut out = Vec::with_capacity(stored.len() + hashes.len() * 32);
    out.extend_from_slice(stored);
    for h in hashes {
        out.extend_from_slice(h);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::merkle::{self, Frontier};

    /// Builds the tiles of a tree of `n` leaves the way a writer does, in batches.
    fn build(n: u64, batch: usize) -> (Frontier, TileMap, HashMap<NodeId, Hash>) {
        let mut f = Frontier::new();
        let mut tiles = TileMap::new();
        let mut all = HashMap::new();
        let leaves: Vec<Hash> = (0..n).map(|i| merkle::leaf_hash(format!("entry {i}").as_bytes())).collect();
        for chunk in leaves.chunks(batch) {
            let mut created = Vec::new();
            for l in chunk {
                created.extend(f.append(*l));
            }
            all.extend(created.iter().copied());
            for (tile, (first, hashes)) in appends(&created) {
                let stored = tiles.get(&tile).map(|t| t.as_slice().to_vec()).unwrap_or_default();
                let next = extend(&stored, first, &hashes).expect("appends continue the stored tile");
                tiles.insert(tile, Arc::new(next));
            }
        }
        (f, tiles, all)
    }

    #[test]
    fn locating_nodes() {
        assert_eq!(locate(NodeId { level: 0, idx: 300 }), (TileId { level: 0, idx: 1 }, 44, 1));
        assert_eq!(locate(NodeId { level: 3, idx: 5 }), (TileId { level: 0, idx: 0 }, 40, 8));
        assert_eq!(locate(NodeId { level: 8, idx: 0 }), (TileId { level: 1, idx: 0 }, 0, 1));
        assert_eq!(locate(NodeId { level: 17, idx: 3 }), (TileId { level: 2, idx: 0 }, 6, 2));
    }

    #[test]
    fn extending_refuses_gaps_and_overflow() {
        let h = [7u8; 32];
        assert!(extend(&[], 1, &[h]).is_none());
        assert!(extend(&[0u8; 31], 0, &[h]).is_none());
        assert_eq!(extend(&[], 0, &[h]).unwrap().len(), 32);
        let full = vec![0u8; 32 * 256];
        assert!(extend(&full, 256, &[h]).is_none());
    }

    #[test]
    fn a_tile_too_short_gives_no_node() {
        let (_, tiles, _) = build(300, 7);
        // Level 0 tile 1 holds 44 leaves: the node over leaves 256..320 is not complete.
        assert!(nodes_from(&[NodeId { level: 6, idx: 4 }], &tiles).is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        /// Every complete node the writer created is found in the tiles with the same hash,
        /// and proofs built from tiles verify against the frontier's root.
        #[test]
        fn tiles_hold_every_node(n in 1u64..2_000, batch in 1usize..300, probe in any::<u64>()) {
            let (f, tiles, all) = build(n, batch);
            let ids: Vec<NodeId> = all.keys().copied().collect();
            let got = nodes_from(&ids, &tiles);
            prop_assert_eq!(got.len(), all.len());
            for (id, h) in &all {
                prop_assert_eq!(got.get(id), Some(h));
            }
            let index = probe % n;
            let ranges = merkle::inclusion_ranges(index, n);
            let mut needed = merkle::nodes_for(&ranges);
            needed.push(NodeId { level: 0, idx: index });
            let nodes = nodes_from(&needed, &tiles);
            let path = merkle::proof_from(&ranges, &nodes).unwrap();
            let leaf = nodes[&NodeId { level: 0, idx: index }];
            prop_assert!(merkle::verify_inclusion(index, n, &leaf, &path, &f.root()));
            let frontier = Frontier::from_nodes(n, &nodes_from(&Frontier::node_ids(n), &tiles)).unwrap();
            prop_assert_eq!(frontier.root(), f.root());
        }

        #[test]
        fn tiles_needed_cover_their_nodes(level in 0u8..40, idx in 0u64..1_000_000) {
            let node = NodeId { level, idx: idx >> level.min(19) };
            let need = tiles_for(&[node]);
            let (tile, start, len) = locate(node);
            prop_assert_eq!(need.get(&tile), Some(&(start + len)));
            prop_assert!(start + len <= TILE_WIDTH as usize);
        }
    }
}
