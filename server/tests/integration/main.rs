//! The server binary's own tests, one binary: its command line, and what it does when it
//! is killed in the middle of an action.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod cli;
mod crash;
