//! The lowest layer: the types and helpers every other module shares — orders, fills,
//! positions and trades ([`order`]), strategy parameters ([`params`]), time parsing
//! ([`time`]) and seeds ([`seed`]). Imports nothing from the rest of the crate.

pub mod order;
pub mod params;
pub mod seed;
pub mod time;
