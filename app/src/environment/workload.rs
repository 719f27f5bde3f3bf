use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::model::PageHtml;
use super::ActionBars;
use super::{Crumbs, Followed, Loaded};
use crate::error::AppError;

#[component]
pub fn WorkloadPage() -> impl IntoView {
    let params = use_params_map();
    let workload = Memo::new(move |_| params.with(|p| p.get("workload").unwrap_or_default()));
    let followed = Followed::start(Some(workload));
    let env = followed.env;
    view! {
        <Title text=super::address_title(move || format!("{} in {}", workload.get(), env.get()))/>
        <Crumbs env workload=Some(workload) connection=followed.connection/>
        <Loaded
            followed
            render=Callback::new(move |(pages, actions): (PageHtml, ActionBars)| {
                let name = workload.get();
                let bar = actions.workloads.into_iter().find(|(w, _)| *w == name).map(|(_, b)| b);
                match pages.workloads.into_iter().find(|(w, _)| *w == name) {
                    Some((_, html)) => Ok((bar.unwrap_or_default(), html)),
                    None => Err(crate::error::shown(AppError::NotFound(format!(
                        "There is no workload named “{name}” in {}.",
                        pages.name
                    )))),
                }
            })
        />
    }
}
