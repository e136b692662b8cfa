//! Seeds for parallel work: a task's random stream depends only on `(seed, index)`.

/// The seed of parallel task `index` of a run seeded with `seed` (SplitMix64 of both), so a
/// task's random stream depends only on `(seed, index)`, never on scheduling.
pub fn task_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_seeds_differ_by_index_and_by_seed() {
        assert_ne!(task_seed(1, 0), task_seed(1, 1));
        assert_ne!(task_seed(1, 0), task_seed(2, 0));
        assert_eq!(task_seed(7, 3), task_seed(7, 3));
    }

    #[test]
    fn task_seed_of_zero_zero_is_splitmix64_first_output() {
        // SplitMix64 seeded with 0: first output 0xE220A8397B1DCDAF (Vigna's reference).
        assert_eq!(task_seed(0, 0), 0xE220_A839_7B1D_CDAF);
    }
}
