//! Genetic operators: random genomes, crossover (gene-level uniform and one-point) and
//! mutation (thresholds by a gaussian scaled to the feature's range, comparisons, weights,
//! gene presence, features and risk genes). Every operator takes the caller's seeded RNG
//! and returns a genome that passes [`Genome::validate`] (a property test checks it).

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::features::{Feature, FeatureRanges};
use super::genome::{ATR_MULT_MAX, Gene, Genome, Group, Op, RiskGenes, SIZE_RANGE, SLOTS};

/// A standard normal draw (Box–Muller; one of the pair).
fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

/// Features a group may use.
fn features_for(group: Group) -> &'static [Feature] {
    match group {
        Group::Exit => &Feature::ALL,
        _ => Feature::INDICATORS,
    }
}

fn random_op(rng: &mut ChaCha8Rng, feature: Feature) -> Op {
    if feature == Feature::BarsHeld {
        return pick(rng, &[Op::Lt, Op::Gt]);
    }
    // levels more often than crosses: crosses are rare events
    let u: f64 = rng.random();
    if u < 0.35 {
        Op::Lt
    } else if u < 0.7 {
        Op::Gt
    } else if u < 0.85 {
        Op::CrossesAbove
    } else {
        Op::CrossesBelow
    }
}

fn random_threshold(rng: &mut ChaCha8Rng, ranges: &FeatureRanges, f: Feature) -> f64 {
    let (lo, hi) = ranges.range(f);
    let v = lo + rng.random::<f64>() * (hi - lo);
    if f == Feature::BarsHeld { v.round() } else { v }
}

fn random_gene(rng: &mut ChaCha8Rng, ranges: &FeatureRanges, group: Group) -> Gene {
    let feature = pick(rng, features_for(group));
    let p_active = match group {
        Group::Filter => 0.25,
        Group::Exit => 0.4,
        _ => 0.5,
    };
    Gene {
        active: rng.random::<f64>() < p_active,
        feature,
        op: random_op(rng, feature),
        threshold: random_threshold(rng, ranges, feature),
        weight: 0.1 + 0.9 * rng.random::<f64>(),
    }
}

fn random_risk(rng: &mut ChaCha8Rng) -> RiskGenes {
    RiskGenes {
        size_frac: 0.1 + 0.9 * rng.random::<f64>(),
        stop_atr: if rng.random::<f64>() < 0.2 {
            0.0
        } else {
            0.5 + 5.5 * rng.random::<f64>()
        },
        take_profit_atr: if rng.random::<f64>() < 0.3 {
            0.0
        } else {
            0.5 + 9.5 * rng.random::<f64>()
        },
    }
}

/// A random genome with [`SLOTS`] genes per group and at least one active entry gene.
pub fn random_genome(rng: &mut ChaCha8Rng, ranges: &FeatureRanges) -> Genome {
    let mut gen_group =
        |n: usize, g: Group| -> Vec<Gene> { (0..n).map(|_| random_gene(rng, ranges, g)).collect() };
    let mut genome = Genome {
        long: gen_group(SLOTS.long, Group::Long),
        short: gen_group(SLOTS.short, Group::Short),
        exit: gen_group(SLOTS.exit, Group::Exit),
        filter: gen_group(SLOTS.filter, Group::Filter),
        risk: random_risk(rng),
    };
    ensure_entry(rng, &mut genome);
    genome
}

/// Switch on a random entry gene when none is active (such a genome never trades).
fn ensure_entry(rng: &mut ChaCha8Rng, g: &mut Genome) {
    if g.long.iter().chain(&g.short).any(|x| x.active) {
        return;
    }
    let n = g.long.len() + g.short.len();
    if n == 0 {
        return;
    }
    let i = rng.random_range(0..n);
    if i < g.long.len() {
        g.long[i].active = true;
    } else {
        g.short[i - g.long.len()].active = true;
    }
}

/// The genome's slots as one sequence (groups in order), for crossover.
fn slots_mut(g: &mut Genome) -> Vec<&mut Gene> {
    g.long
        .iter_mut()
        .chain(g.short.iter_mut())
        .chain(g.exit.iter_mut())
        .chain(g.filter.iter_mut())
        .collect()
}

/// A child of `a` and `b`: half the time gene-level uniform crossover (each slot and the
/// risk genes from either parent), else one-point crossover over the slot sequence (risk
/// genes from the second part's parent). Parents of different shapes give a copy of `a`.
pub fn crossover(rng: &mut ChaCha8Rng, a: &Genome, b: &Genome) -> Genome {
    let mut child = a.clone();
    let same_shape = a.long.len() == b.long.len()
        && a.short.len() == b.short.len()
        && a.exit.len() == b.exit.len()
        && a.filter.len() == b.filter.len();
    if !same_shape {
        return child;
    }
    let mut donor = b.clone();
    let dslots = slots_mut(&mut donor);
    let cslots = slots_mut(&mut child);
    let n = cslots.len();
    if rng.random::<f64>() < 0.5 {
        for (c, d) in cslots.into_iter().zip(dslots) {
            if rng.random::<f64>() < 0.5 {
                *c = *d;
            }
        }
        if rng.random::<f64>() < 0.5 {
            child.risk = b.risk;
        }
    } else {
        let cut = rng.random_range(1..=n.max(1));
        for (c, d) in cslots.into_iter().zip(dslots).skip(cut) {
            *c = *d;
        }
        child.risk = b.risk;
    }
    ensure_entry(rng, &mut child);
    child
}

/// Mutate in place: each gene with probability `rate` has one of its parts changed
/// (threshold +N(0, 0.1·range), comparison, weight +N(0, 0.2), presence flipped, or a new
/// feature with a fresh threshold); each risk gene with probability `rate` moves by a
/// gaussian. Values are clamped back into their bounds.
pub fn mutate(rng: &mut ChaCha8Rng, g: &mut Genome, ranges: &FeatureRanges, rate: f64) {
    let groups: [(Group, &mut Vec<Gene>); 4] = [
        (Group::Long, &mut g.long),
        (Group::Short, &mut g.short),
        (Group::Exit, &mut g.exit),
        (Group::Filter, &mut g.filter),
    ];
    for (group, genes) in groups {
        for gene in genes.iter_mut() {
            if rng.random::<f64>() >= rate {
                continue;
            }
            let (lo, hi) = ranges.range(gene.feature);
            match rng.random_range(0..10u32) {
                0..=3 => gene.threshold += gauss(rng) * 0.1 * (hi - lo),
                4 => gene.op = random_op(rng, gene.feature),
                5 | 6 => gene.weight += gauss(rng) * 0.2,
                7 | 8 => gene.active = !gene.active,
                _ => {
                    gene.feature = pick(rng, features_for(group));
                    gene.op = random_op(rng, gene.feature);
                    gene.threshold = random_threshold(rng, ranges, gene.feature);
                }
            }
        }
    }
    let r = &mut g.risk;
    if rng.random::<f64>() < rate {
        r.size_frac += gauss(rng) * 0.15;
    }
    if rng.random::<f64>() < rate {
        r.stop_atr = (r.stop_atr + gauss(rng) * 0.75).max(0.0);
    }
    if rng.random::<f64>() < rate {
        r.take_profit_atr = (r.take_profit_atr + gauss(rng) * 1.0).max(0.0);
    }
    g.clamp(ranges);
    ensure_entry(rng, g);
    debug_assert!(SIZE_RANGE.1 <= 1.0 && ATR_MULT_MAX > 0.0);
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use crate::ai::evolver::features::FeatureTable;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn ranges() -> FeatureRanges {
        let bars = crate::testutil::random_walk(500, 1);
        FeatureRanges::measure(FeatureTable::new(&bars).unwrap().rows())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn prop_operators_keep_genomes_valid(seed in any::<u64>(), rate in 0.0f64..1.0) {
            let r = ranges();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let a = random_genome(&mut rng, &r);
            let b = random_genome(&mut rng, &r);
            prop_assert!(a.validate().is_ok(), "{:?}", a.validate());
            let mut c = crossover(&mut rng, &a, &b);
            prop_assert!(c.validate().is_ok(), "{:?}", c.validate());
            for _ in 0..5 {
                mutate(&mut rng, &mut c, &r, rate);
                prop_assert!(c.validate().is_ok(), "{:?}", c.validate());
            }
            prop_assert!(c.long.iter().chain(&c.short).any(|g| g.active));
            prop_assert_eq!(c.long.len(), SLOTS.long);
            prop_assert_eq!(c.filter.len(), SLOTS.filter);
        }
    }

    #[test]
    fn same_seed_same_genome() {
        let r = ranges();
        let a = random_genome(&mut ChaCha8Rng::seed_from_u64(9), &r);
        let b = random_genome(&mut ChaCha8Rng::seed_from_u64(9), &r);
        assert_eq!(a, b);
        assert_ne!(a, random_genome(&mut ChaCha8Rng::seed_from_u64(10), &r));
    }

    #[test]
    fn one_point_crossover_of_a_genome_with_itself_is_itself() {
        let r = ranges();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let a = random_genome(&mut rng, &r);
        for _ in 0..10 {
            assert_eq!(crossover(&mut rng, &a, &a), a);
        }
    }
}
