//! One table for every table of the detail pages. The server turns the status into rows
//! of plain cells (`present`, unit-tested) and this component renders them, on the
//! server only (`html`): the browser swaps in the result.

use leptos::either::Either;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A column heading; numeric columns are right-aligned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub title: String,
    pub numeric: bool,
}

// Tables are built on the server only (`present`).
#[cfg(feature = "ssr")]
pub fn col(title: &str) -> Column {
    Column { title: title.to_owned(), numeric: false }
}

#[cfg(feature = "ssr")]
pub fn num(title: &str) -> Column {
    Column { title: title.to_owned(), numeric: true }
}

/// Where a cell's text says `{age}`, the browser writes the time since `since_ms` (ms
/// since the epoch) and keeps it current.
pub const AGE: &str = "{age}";

/// One cell: its text, optionally a link, smaller lines under it and a progress bar.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub text: String,
    pub since_ms: Option<i64>,
    pub href: Option<String>,
    pub notes: Vec<String>,
    pub class: String,
    pub progress: Option<u8>,
}

#[cfg(feature = "ssr")]
impl Cell {
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }

    pub fn number(n: i32) -> Self {
        Self::text(n.to_string()).numeric()
    }

    /// "5m": the age of something created at `since_ms`.
    pub fn age(since_ms: i64) -> Self {
        Self { since_ms: Some(since_ms), ..Self::text(AGE) }.numeric()
    }

    /// Text with `{age}` standing for the time since `since_ms`.
    pub fn with_age(text: impl Into<String>, since_ms: i64) -> Self {
        Self { since_ms: Some(since_ms), ..Self::text(text) }
    }

    pub fn numeric(self) -> Self {
        self.class("num")
    }

    pub fn class(mut self, class: impl AsRef<str>) -> Self {
        if !self.class.is_empty() {
            self.class.push(' ');
        }
        self.class.push_str(class.as_ref());
        self
    }

    pub fn link(mut self, href: String) -> Self {
        self.href = Some(href);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn progress(mut self, percent: Option<u8>) -> Self {
        self.progress = percent;
        self
    }
}

/// A row, found by tests and scripts as `[data-table=…] tr[data-key=…]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub key: String,
    /// The row's health (`data-health`), when it has one.
    pub health: Option<String>,
    pub cells: Vec<Cell>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// `data-table` on the element.
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Said instead of an empty table.
    pub empty: String,
}

/// Type-erased (`AnyView`): every table on every page is this one compiled view. `now`
/// (ms since the epoch) is what ages are measured against.
#[component]
pub fn DataTable(table: Table, now: i64) -> AnyView {
    let Table { name, columns, rows, empty } = table;
    if rows.is_empty() {
        return view! { <p class="muted" data-table=name>{empty}</p> }.into_any();
    }
    let head = columns
        .into_iter()
        .map(|c| view! { <th class=if c.numeric { "num" } else { "" }>{c.title}</th> })
        .collect_view();
    let body = rows
        .into_iter()
        .map(|row| {
            let cells = row.cells.into_iter().map(|c| cell(c, now)).collect_view();
            view! { <tr data-key=row.key data-health=row.health>{cells}</tr> }
        })
        .collect_view();
    view! {
        <table class="table" data-table=name>
            <thead><tr>{head}</tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
    .into_any()
}

fn cell(c: Cell, now: i64) -> impl IntoView {
    let Cell { text, since_ms, href, notes, class, progress } = c;
    // An age is a span the browser keeps current (`data-since`).
    let text = match since_ms.and_then(|since| text.split_once(AGE).map(|parts| (since, parts))) {
        Some((since, (before, after))) => Either::Left(view! {
            {before.to_owned()}
            <span data-since=since>{crate::status::words::age(since, now)}</span>
            {after.to_owned()}
        }),
        None => Either::Right(text),
    };
    let main = match href {
        Some(href) => Either::Left(view! { <a href=href>{text}</a> }),
        None => Either::Right(text),
    };
    let notes =
        notes.into_iter().map(|n| view! { <div class="muted small">{n}</div> }).collect_view();
    let bar = progress.map(|p| view! { <progress max="100" value=p></progress> });
    view! { <td class=class>{main}{notes}{bar}</td> }
}
