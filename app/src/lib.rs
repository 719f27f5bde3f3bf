//! Gantry's user interface: the HTML shell, the router and every page, plus the server
//! functions the pages call. Compiled twice: with `ssr` into the server binary and with
//! `hydrate` into the WebAssembly that makes the server-rendered page interactive.

pub mod access;
pub mod actions;
pub mod backups;
pub mod codec;
pub mod config;
pub mod environment;
pub mod error;
pub mod escape;
pub mod live;
pub mod logs;
pub mod me;
pub mod monitoring;
pub mod overview;
pub mod pages;
pub mod pods;
pub mod server_page;
pub mod shell;
pub mod status;

#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod cluster;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod history;
#[cfg(feature = "ssr")]
pub mod records;

pub use shell::{shell, App};
