//! `algolab data …`: check, convert (optionally resampling) and synthesise bar files.
//! The file formats, checks and resampling themselves are in [`crate::data`].

use std::path::{Path, PathBuf};

use super::Ctx;
use crate::Error;
use crate::data::{self, CheckReport, SynthSpec};

/// What `algolab data convert` asks for.
#[derive(Debug, Clone)]
pub struct ConvertRequest {
    /// Input bar file (any supported format).
    pub input: PathBuf,
    /// Output file: `.csv` or `.parquet`.
    pub output: PathBuf,
    /// Resample to this interval first (`4h`, `1d`, …).
    pub resample: Option<String>,
}

/// A bar file written by `convert` or `synth`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    /// Bars written.
    pub bars: usize,
    /// The file.
    pub output: PathBuf,
}

/// `algolab data check FILE`: every problem, the range, the interval and the gaps. A
/// report with problems is still `Ok`; the caller decides what it means.
pub fn check(_ctx: &Ctx, file: &Path) -> CheckReport {
    data::check(file)
}

/// `algolab data convert`.
///
/// # Errors
/// [`Error::Data`] for a bad input file, interval or output path; [`Error::Usage`] for a
/// resample interval shorter than the input's.
pub fn convert(_ctx: &Ctx, req: ConvertRequest) -> Result<Written, Error> {
    let mut bars = data::load(&req.input)?;
    if let Some(iv) = &req.resample {
        let target = data::parse_interval(iv)?;
        // resampling aggregates: a shorter interval would copy each bar into its own
        // bucket and write the input's bars under the new interval's name (issue 10)
        if let Some(have) = bars.interval_ms()
            && target < have
        {
            return Err(Error::Usage(format!(
                "cannot resample {} bars to {}: resampling only aggregates to a longer interval (upsampling would invent bars)",
                data::format_interval(have),
                data::format_interval(target)
            )));
        }
        bars = data::resample(&bars, target)?;
    }
    data::save(&bars, &req.output)?;
    Ok(Written {
        bars: bars.len(),
        output: req.output,
    })
}

/// `algolab data synth`: a seeded random walk written to `output`.
///
/// # Errors
/// [`Error::Data`] for bad settings or an output that cannot be written.
pub fn synth(_ctx: &Ctx, spec: &SynthSpec, output: PathBuf) -> Result<Written, Error> {
    let b = data::synth(spec)?;
    data::save(&b, &output)?;
    Ok(Written {
        bars: b.len(),
        output,
    })
}
