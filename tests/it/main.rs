//! All integration tests in one binary (STYLE rule 1): CLI end to end, golden files,
//! loopback servers. Each area is a module.

mod optimize_grid;
mod optimize_overfit;
mod optimize_tpe;
mod util;
