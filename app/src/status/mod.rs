//! Environment status: the data the overview and environment pages show, and (on the
//! server) its derivation from the cluster's objects.

#[cfg(feature = "ssr")]
pub mod derive;
pub mod model;
pub mod words;
