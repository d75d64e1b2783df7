//! The class structure of a corpus: syllables grouped by feature vector
//! ("class") and, within a class, by frequency ("group"), plus the
//! neighbour classes of every class.
//!
//! Why this is all the engine needs: every quantity of SEMANTICS §3 depends on
//! a syllable only through its feature vector and its frequency. Two
//! syllables with the same vector have the same neighbour set and flip costs;
//! two candidates in the same class with the same frequency get bit-identical
//! weights from every start. So a *group* (class, frequency) is the unit of
//! every decision, and its members are indistinguishable except for their
//! index, which only matters for the order of the reference's sum and of the
//! output.

use rayon::prelude::*;

use super::FEATURE_VECTOR_COUNT;
use crate::domain::corpus::Corpus;

/// A neighbour class of some class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NeighbourClass {
    pub class: u32,
    /// XOR of the two feature vectors: which features flip.
    pub mask: u16,
    /// Hamming distance, `mask.count_ones()`.
    pub distance: u8,
}

/// Syllables grouped by class and frequency.
#[derive(Debug)]
pub(crate) struct ClassIndex {
    /// Feature vector of each class, ascending; only occupied vectors.
    pub vectors: Vec<u16>,
    /// Number of syllables of each class.
    pub class_sizes: Vec<u32>,
    /// Groups of class `c` are `class_groups[c]..class_groups[c + 1]`, in
    /// frequency-descending order.
    pub class_groups: Vec<u32>,
    /// Number of syllables of each group.
    pub group_sizes: Vec<u32>,
    /// Index into `frequency_values` of each group's frequency.
    pub group_value: Vec<u32>,
    /// Distinct frequencies of the corpus, descending.
    pub frequency_values: Vec<u64>,
    /// Group of each syllable, by syllable index.
    pub group_of: Vec<u32>,
    /// Neighbour classes of class `c` are
    /// `neighbours[neighbour_start[c]..neighbour_start[c + 1]]`, by distance
    /// ascending (so those within `m` flips are a prefix), then vector.
    pub neighbour_start: Vec<u32>,
    pub neighbours: Vec<NeighbourClass>,
}

impl ClassIndex {
    /// Builds the structure in O(N + 4096 * masks) plus, only when the corpus
    /// is not already in frequency-descending order, one parallel sort.
    /// The corpus must have passed `validate_corpus`.
    pub(crate) fn build(corpus: &Corpus, max_neighbor_distance: u32) -> Self {
        let n = corpus.len();
        let frequencies = &corpus.frequencies;

        // Syllable indices by (frequency descending, index ascending). A
        // corpus loaded from SQLite already is in that order.
        let by_frequency: Vec<u32> = if frequencies.windows(2).all(|w| w[0] >= w[1]) {
            (0..n as u32).collect()
        } else {
            let mut keyed: Vec<(std::cmp::Reverse<u64>, u32)> = frequencies
                .iter()
                .enumerate()
                .map(|(i, &f)| (std::cmp::Reverse(f), i as u32))
                .collect();
            keyed.par_sort_unstable();
            keyed.into_iter().map(|(_, i)| i).collect()
        };

        // Distinct frequency values (descending) and each syllable's value.
        let mut frequency_values: Vec<u64> = Vec::new();
        let mut value_of = vec![0u32; n];
        for &i in &by_frequency {
            let f = frequencies[i as usize];
            if frequency_values.last() != Some(&f) {
                frequency_values.push(f);
            }
            value_of[i as usize] = (frequency_values.len() - 1) as u32;
        }

        // Dense class ids, ascending by vector.
        let mut class_of_vector = vec![u32::MAX; FEATURE_VECTOR_COUNT];
        for &f in &corpus.features {
            class_of_vector[usize::from(f)] = 0;
        }
        let mut vectors = Vec::new();
        for (vector, slot) in class_of_vector.iter_mut().enumerate() {
            if *slot != u32::MAX {
                *slot = vectors.len() as u32;
                vectors.push(vector as u16);
            }
        }
        let k = vectors.len();

        // Stable counting sort of `by_frequency` by class: within a class the
        // order stays (frequency descending, index ascending).
        let mut class_sizes = vec![0u32; k];
        for &f in &corpus.features {
            class_sizes[class_of_vector[usize::from(f)] as usize] += 1;
        }
        let mut next = Vec::with_capacity(k);
        let mut offset = 0u32;
        for &size in &class_sizes {
            next.push(offset);
            offset += size;
        }
        let mut order = vec![0u32; n];
        for &i in &by_frequency {
            let class = class_of_vector[usize::from(corpus.features[i as usize])] as usize;
            order[next[class] as usize] = i;
            next[class] += 1;
        }
        drop(by_frequency);

        // Groups: runs of one frequency value within a class.
        let mut class_groups = Vec::with_capacity(k + 1);
        let mut group_sizes: Vec<u32> = Vec::new();
        let mut group_value: Vec<u32> = Vec::new();
        let mut group_of = vec![0u32; n];
        let mut position = 0usize;
        for &size in &class_sizes {
            class_groups.push(group_sizes.len() as u32);
            let end = position + size as usize;
            let mut previous = u32::MAX;
            for &i in &order[position..end] {
                let value = value_of[i as usize];
                if value != previous {
                    group_sizes.push(0);
                    group_value.push(value);
                    previous = value;
                }
                let group = group_sizes.len() - 1;
                group_sizes[group] += 1;
                group_of[i as usize] = group as u32;
            }
            position = end;
        }
        class_groups.push(group_sizes.len() as u32);

        // Neighbour classes: every mask of 1..=max_neighbor_distance flips,
        // by distance then mask value; keep the occupied ones.
        let mut masks: Vec<u16> = (1..FEATURE_VECTOR_COUNT as u16)
            .filter(|m| m.count_ones() <= max_neighbor_distance)
            .collect();
        masks.sort_by_key(|m| (m.count_ones(), *m));
        let mut neighbour_start = Vec::with_capacity(k + 1);
        let mut neighbours = Vec::new();
        for &vector in &vectors {
            neighbour_start.push(neighbours.len() as u32);
            for &mask in &masks {
                let class = class_of_vector[usize::from(vector ^ mask)];
                if class != u32::MAX {
                    neighbours.push(NeighbourClass {
                        class,
                        mask,
                        distance: mask.count_ones() as u8,
                    });
                }
            }
        }
        neighbour_start.push(neighbours.len() as u32);

        Self {
            vectors,
            class_sizes,
            class_groups,
            group_sizes,
            group_value,
            frequency_values,
            group_of,
            neighbour_start,
            neighbours,
        }
    }

    pub(crate) fn class_count(&self) -> usize {
        self.vectors.len()
    }

    pub(crate) fn group_count(&self) -> usize {
        self.group_sizes.len()
    }

    /// Neighbour classes of `class` within `max_flips` flips.
    pub(crate) fn neighbours_within(&self, class: usize, max_flips: u32) -> &[NeighbourClass] {
        let all = &self.neighbours
            [self.neighbour_start[class] as usize..self.neighbour_start[class + 1] as usize];
        let end = all.partition_point(|nb| u32::from(nb.distance) <= max_flips);
        &all[..end]
    }

    /// Groups of `class`, as a range of group ids.
    pub(crate) fn groups(&self, class: usize) -> std::ops::Range<usize> {
        self.class_groups[class] as usize..self.class_groups[class + 1] as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_neighbours() {
        let mut corpus = Corpus::default();
        // index: (frequency, vector)
        for (i, (f, v)) in [
            (5, 0b11),
            (9, 0b00),
            (5, 0b00),
            (9, 0b00),
            (1, 0b01),
            (5, 0b00),
        ]
        .into_iter()
        .enumerate()
        {
            corpus.push(format!("s{i}"), f, v);
        }
        let index = ClassIndex::build(&corpus, 3);
        assert_eq!(index.vectors, vec![0b00, 0b01, 0b11]);
        assert_eq!(index.class_sizes, vec![4, 1, 1]);
        assert_eq!(index.frequency_values, vec![9, 5, 1]);
        // class 0b00: groups f=9 {1,3}, f=5 {2,5}
        assert_eq!(index.groups(0), 0..2);
        assert_eq!(index.group_sizes[..2], [2, 2]);
        assert_eq!(index.group_value[..2], [0, 1]);
        assert_eq!(index.group_of, vec![3, 0, 1, 0, 2, 1]);
        // 0b00's neighbours: 0b01 (distance 1), 0b11 (distance 2).
        let nb = index.neighbours_within(0, 3);
        assert_eq!(
            nb.iter().map(|n| (n.class, n.distance)).collect::<Vec<_>>(),
            vec![(1, 1), (2, 2)]
        );
        assert_eq!(index.neighbours_within(0, 1).len(), 1);
        assert_eq!(index.neighbours_within(0, 0).len(), 0);
    }
}
