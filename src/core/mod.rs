//! The lowest layer: plain helpers every other module may use (seeds today; parameters and
//! time parsing are to follow, issue 9 item 5). Imports nothing from the crate.

pub mod seed;
