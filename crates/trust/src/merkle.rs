//! RFC 9162 (RFC 6962 v2) Merkle trees over SHA-256: leaf and node hashes, the
//! frontier that appends in O(log n), and inclusion and consistency proofs.
//!
//! Proofs are computed from *stored* complete subtrees: every node whose range is
//! `[idx·2^level, (idx+1)·2^level)` is kept by the log, so a proof at any size needs
//! only O(log n) node reads. [`inclusion_ranges`] and [`consistency_ranges`] say which
//! subtree ranges a proof is made of, [`nodes_for`] which stored nodes those need,
//! and [`subtree_hash`] folds them.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A stored node: `level` 0 is a leaf, `idx` counts nodes of that level from the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub idx: u64,
}

/// The right edge of a tree: one complete subtree per set bit of the size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash) from the largest (leftmost) subtree to the smallest.
    nodes: Vec<(u8, Hash)>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// The nodes a frontier of `size` is made of, leftmost first.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        (0..64u8)
            .rev()
            .filter(|level| size & (1u64 << level) != 0)
            .map(|level| NodeId { level, idx: (size >> level) - 1 })
            .collect()
    }

    /// Rebuilds a frontier from the stored nodes listed by [`Frontier::node_ids`].
    pub fn from_nodes(size: u64, nodes: &HashMap<NodeId, Hash>) -> Option<Self> {
        let mut out = Vec::new();
        for id in Self::node_ids(size) {
            out.push((id.level, *nodes.get(&id)?));
        }
        Some(Self { size, nodes: out })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and returns every node that became complete, the leaf first.
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut created = vec![(NodeId { level: 0, idx: self.size }, leaf)];
        let mut level = 0u8;
        let mut hash = leaf;
        let mut idx = self.size;
        while idx & 1 == 1 {
            let (left_level, left) = self.nodes.pop().expect("an odd index has a left sibling");
            debug_assert_eq!(left_level, level);
            hash = node_hash(&left, &hash);
            level += 1;
            idx >>= 1;
            created.push((NodeId { level, idx }, hash));
        }
        self.nodes.push((level, hash));
        self.size += 1;
        created
    }

    /// The Merkle tree hash of everything appended.
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        let Some((_, last)) = iter.next() else { return empty_root() };
        iter.fold(*last, |acc, (_, left)| node_hash(left, &acc))
    }
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The subtree ranges `[start, end)` whose hashes form the inclusion proof of leaf
/// `index` in the tree of `size` leaves, in proof order (RFC 9162 §2.1.3.1).
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            m -= k;
        }
    }
    out.reverse();
    out
}

/// The subtree ranges forming the consistency proof between sizes `old` and `new`
/// (RFC 9162 §2.1.4.1), in proof order. Empty when `old` is 0 or equals `new`.
pub fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    if old == 0 || old >= new {
        return Vec::new();
    }
    let mut out = Vec::new();
    let (mut lo, mut hi, mut m, mut whole) = (0u64, new, old, true);
    loop {
        if m == hi - lo {
            if !whole {
                out.push((lo, hi));
            }
            break;
        }
        let k = split(hi - lo);
        if m <= k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            m -= k;
            whole = false;
        }
    }
    out.reverse();
    out
}

/// The stored nodes needed to hash the subtree `[start, end)`.
fn collect_nodes(start: u64, end: u64, out: &mut Vec<NodeId>) {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        out.push(NodeId { level: n.trailing_zeros() as u8, idx: start >> n.trailing_zeros() });
    } else {
        let k = split(n);
        collect_nodes(start, start + k, out);
        collect_nodes(start + k, end, out);
    }
}

/// Every stored node needed to hash all `ranges`, without duplicates.
pub fn nodes_for(ranges: &[(u64, u64)]) -> Vec<NodeId> {
    let mut out = Vec::new();
    for &(a, b) in ranges {
        collect_nodes(a, b, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// The hash of subtree `[start, end)` from stored nodes; `None` if one is missing.
pub fn subtree_hash(start: u64, end: u64, nodes: &HashMap<NodeId, Hash>) -> Option<Hash> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        nodes.get(&NodeId { level: n.trailing_zeros() as u8, idx: start >> n.trailing_zeros() }).copied()
    } else {
        let k = split(n);
        Some(node_hash(&subtree_hash(start, start + k, nodes)?, &subtree_hash(start + k, end, nodes)?))
    }
}

/// The proof hashes for `ranges`, from stored nodes.
pub fn proof_from(ranges: &[(u64, u64)], nodes: &HashMap<NodeId, Hash>) -> Option<Vec<Hash>> {
    ranges.iter().map(|&(a, b)| subtree_hash(a, b, nodes)).collect()
}

/// RFC 9162 §2.1.3.2: does `path` prove `leaf` at `index` in the tree of `size` with `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    root_from_inclusion(index, size, leaf, path).is_some_and(|r| &r == root)
}

/// The root that an inclusion proof leads to, or `None` if the proof has the wrong shape.
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s_n == 0 {
            return None;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    (s_n == 0).then_some(r)
}

/// RFC 9162 §2.1.4.2: does `proof` show that the tree of `old` leaves with `old_root`
/// is a prefix of the tree of `new` leaves with `new_root`?
pub fn verify_consistency(old: u64, new: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty();
    }
    if old > new || proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let (mut f_n, mut s_n) = (old - 1, new - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && &fr == old_root && &sr == new_root
}

/// A batch of leaves signed or stamped at once: the root over them and each leaf's
/// inclusion path (leaf to root), in the leaves' order.
pub fn batch_paths(leaves: &[Hash]) -> (Hash, Vec<Vec<Hash>>) {
    let mut frontier = Frontier::new();
    let mut nodes = HashMap::with_capacity(leaves.len() * 2);
    for leaf in leaves {
        nodes.extend(frontier.append(*leaf));
    }
    let size = leaves.len() as u64;
    let paths =
        (0..size).map(|i| proof_from(&inclusion_ranges(i, size), &nodes).expect("a batch's tree is whole")).collect();
    (frontier.root(), paths)
}

/// The root of a whole list of leaf hashes (reference implementation, O(n)).
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut f = Frontier::new();
    for l in leaves {
        f.append(*l);
    }
    f.root()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The recursive definition of RFC 9162 §2.1.1, to check the iterative code against.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn build(n: u64) -> (Vec<Hash>, HashMap<NodeId, Hash>, Frontier) {
        let mut f = Frontier::new();
        let mut nodes = HashMap::new();
        let mut leaves = Vec::new();
        for i in 0..n {
            let l = leaf_hash(format!("entry {i}").as_bytes());
            leaves.push(l);
            nodes.extend(f.append(l));
        }
        (leaves, nodes, f)
    }

    #[test]
    fn known_answer_from_rfc6962_test_vectors() {
        // The 8 leaves used by Certificate Transparency's reference tests.
        let inputs: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let leaves: Vec<Hash> = inputs.iter().map(|i| leaf_hash(i)).collect();
        assert_eq!(hex::encode(root_of(&leaves)), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
        assert_eq!(
            hex::encode(root_of(&leaves[..1])),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    proptest! {
        #[test]
        fn frontier_root_matches_definition(n in 0u64..300) {
            let (leaves, nodes, f) = build(n);
            prop_assert_eq!(f.root(), mth(&leaves));
            if n > 0 {
                prop_assert_eq!(Frontier::from_nodes(n, &nodes).unwrap(), f.clone());
                prop_assert_eq!(subtree_hash(0, n, &nodes), Some(f.root()));
            }
        }

        #[test]
        fn inclusion_proofs_verify_and_catch_changes(n in 1u64..300, pick in 0u64..1000) {
            let (leaves, nodes, f) = build(n);
            let i = pick % n;
            let path = proof_from(&inclusion_ranges(i, n), &nodes).unwrap();
            prop_assert!(verify_inclusion(i, n, &leaves[i as usize], &path, &f.root()));
            prop_assert!(!verify_inclusion(i, n, &leaf_hash(b"other"), &path, &f.root()));
            if n > 1 {
                prop_assert!(!verify_inclusion((i + 1) % n, n, &leaves[i as usize], &path, &f.root()));
            }
            if !path.is_empty() {
                let mut bad = path.clone();
                bad[0][0] ^= 1;
                prop_assert!(!verify_inclusion(i, n, &leaves[i as usize], &bad, &f.root()));
            }
        }

        #[test]
        fn consistency_proofs_verify_and_catch_changes(n in 1u64..300, pick in 0u64..1000) {
            let (leaves, nodes, f) = build(n);
            let m = 1 + pick % n;
            let old_root = mth(&leaves[..m as usize]);
            let proof = proof_from(&consistency_ranges(m, n), &nodes).unwrap();
            prop_assert!(verify_consistency(m, n, &old_root, &f.root(), &proof));
            let mut other = old_root;
            other[31] ^= 1;
            prop_assert!(!verify_consistency(m, n, &other, &f.root(), &proof));
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let last = bad.len() - 1;
                bad[last][0] ^= 1;
                prop_assert!(!verify_consistency(m, n, &old_root, &f.root(), &bad));
            }
        }
    }
}
