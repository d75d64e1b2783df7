//! Building `reachable_indices` (count descending, then index ascending)
//! from per-group counts without a comparison sort of up to N entries.
//!
//! All members of a group share one count, so the distinct counts are at most
//! the number of groups. Ranking them and doing one stable counting-sort pass
//! over the syllables in index order gives the required order directly:
//! within one count, indices come out ascending because they are visited
//! ascending.

/// `(syllable_index, count)` for every syllable whose group count is
/// non-zero, sorted by count descending, then index ascending.
pub(crate) fn reachable_indices(
    group_of: &[u32],
    group_counts: &[u32],
    group_sizes: &[u32],
) -> Vec<(u32, u32)> {
    let mut distinct: Vec<u32> = group_counts.iter().copied().filter(|&c| c > 0).collect();
    distinct.sort_unstable_by(|a, b| b.cmp(a));
    distinct.dedup();

    // Rank of each group's count (u32::MAX: not reachable) and how many
    // syllables carry each rank.
    let mut rank_of_group = vec![u32::MAX; group_counts.len()];
    let mut slots = vec![0usize; distinct.len()];
    for (group, &count) in group_counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        // `distinct` holds every non-zero count, so the search succeeds.
        let rank = distinct.partition_point(|&c| c > count);
        rank_of_group[group] = rank as u32;
        slots[rank] += group_sizes[group] as usize;
    }
    let mut total = 0usize;
    for slot in &mut slots {
        let size = *slot;
        *slot = total;
        total += size;
    }

    let mut out = vec![(0u32, 0u32); total];
    for (index, &group) in group_of.iter().enumerate() {
        let rank = rank_of_group[group as usize];
        if rank != u32::MAX {
            let slot = &mut slots[rank as usize];
            out[*slot] = (index as u32, distinct[rank as usize]);
            *slot += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_by_count_then_index() {
        // groups: 0 (count 3), 1 (count 0), 2 (count 5), 3 (count 3)
        let group_of = [1, 0, 2, 3, 0, 2, 1, 3];
        let counts = [3, 0, 5, 3];
        let sizes = [2, 2, 2, 2];
        let out = reachable_indices(&group_of, &counts, &sizes);
        assert_eq!(out, vec![(2, 5), (5, 5), (1, 3), (3, 3), (4, 3), (7, 3)]);
    }

    #[test]
    fn nothing_reachable() {
        assert!(reachable_indices(&[0, 0], &[0], &[2]).is_empty());
    }
}
